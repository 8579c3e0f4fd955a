"""The shipped default checkpoint: it loads, its manifest verifies, and `cmhl evaluate` on the test
splits (emotion, distress, stb) reproduces its metrics.json (needs ../shared/data; skipped with a reason without it)."""

from __future__ import annotations

import json

import pytest
from cmhl.checkpoint import load_checkpoint, verify_manifest
from data_paths import DATA, SHIPPED, needs_data, needs_shipped

from cmhl_desktop.cli import main as cli_main

pytestmark = [needs_shipped, pytest.mark.slow]


def test_shipped_checkpoint_loads_and_verifies():
    verify_manifest(SHIPPED)
    ck = load_checkpoint(SHIPPED)
    assert ck.config.distress_labels == ["depression", "suicidewatch", "anxiety", "bipolar", "control"]
    assert {r.name for r in ck.calibration.rules} == {"any_distress", "suicidewatch"}
    assert (SHIPPED / "model.safetensors").stat().st_size < 50 * 2**20  # fp16 storage
    assert "not a diagnosis" in ck.card().lower()
    assert ck.config.segments is not None and ck.calibration.rule("suicidewatch").segments
    assert ck.risk_lexicon is not None and ck.risk_lexicon.n_terms > 50
    for rule in ck.calibration.rules:  # the stored threshold is the one its stored PR points give
        assert rule.threshold == pytest.approx(rule.threshold_for(rule.target_recall))


@needs_data
@pytest.mark.parametrize("task", ["emotion", "distress", "stb"])
def test_evaluate_reproduces_metrics_json(task, capsys, no_network):
    stored = json.loads((SHIPPED / "metrics.json").read_text())[f"{task}_test"]
    rc = cli_main(
        [
            "evaluate",
            "--model",
            str(SHIPPED),
            "--task",
            task,
            "--data",
            str(DATA),
            "--split",
            "test",
            "--json",
        ]
    )
    assert rc == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["data_sha256"] == stored["data_sha256"]
    if task == "stb":
        keys = (
            "suicidewatch_recall",
            "suicidewatch_auc",
            "any_rule_flagged_other",
            "any_rule_flagged_crisis",
        )
    else:
        keys = ("accuracy", "macro_f1", "weighted_f1", "macro_recall")
    for key in keys:
        assert rep[key] == pytest.approx(stored[key], abs=0.002), key
    for name, flag in stored.get("flags", {}).items():
        for key in (
            ("recall", "precision", "specificity") if task != "stb" else ("flagged_crisis", "flagged_other")
        ):
            assert rep["flags"][name][key] == pytest.approx(flag[key], abs=0.002), (name, key)


def test_score_help_states_the_shipped_read_limit():
    """`cmhl score --help` and the scoring docstring name the shipped checkpoint's read limit (they
    said v1's 3,134 tokens after v2 went to 32 windows, 6,206 tokens)."""
    from cmhl_desktop.commands import score
    from cmhl_desktop.core import scoring

    cfg = load_checkpoint(SHIPPED).config
    content = cfg.max_length - 2  # [CLS] and [SEP]
    limit = (cfg.long_text.max_windows - 1) * min(cfg.long_text.stride, content) + content
    help_text = " ".join(score.__doc__.split())
    assert f"shipped model {limit:,} tokens" in help_text
    assert f"``truncated``: {limit:,} tokens" in " ".join(scoring.__doc__.split())
