"""Where tests find the shared data and the shipped checkpoint (importable from any test folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SHIPPED = ROOT / "model" / "checkpoints" / "cmhl-minilm-v2"

needs_data = pytest.mark.skipif(
    not (DATA / "distress" / "posts.csv").is_file(),
    reason="../shared/data is absent (research data is never committed)",
)
needs_shipped = pytest.mark.skipif(
    not (SHIPPED / "model.safetensors").is_file(),
    reason="the shipped checkpoint model/checkpoints/cmhl-minilm-v2 is missing",
)
