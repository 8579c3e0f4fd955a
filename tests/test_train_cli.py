"""The smoke recipe trains, calibrates and evaluates through the CLI, end to end."""

from __future__ import annotations

import json

import torch
from cmhl.checkpoint import load_checkpoint
from data_paths import DATA, ROOT, needs_data

from cmhl_desktop.cli import main as cli_main


@needs_data
def test_smoke_recipe_train_calibrate_evaluate(tmp_path, capsys, no_network, monkeypatch):
    out = tmp_path / "smoke"
    import cmhl.training

    seen = {}
    real = cmhl.training.calibrate_model

    def spy(model, *a, **k):  # the weights the thresholds are set on
        seen.update({n: v.detach().clone() for n, v in model.state_dict().items()})
        return real(model, *a, **k)

    monkeypatch.setattr(cmhl.training, "calibrate_model", spy)
    assert (
        cli_main(
            [
                "train",
                "--recipe",
                str(ROOT / "model/recipes/smoke.toml"),
                "--output",
                str(out),
                "--data",
                str(DATA),
            ]
        )
        == 0
    )
    ck = load_checkpoint(out)
    assert {r.name for r in ck.calibration.rules} == {"any_distress", "suicidewatch"}
    shipped = ck.model.state_dict()  # calibrated on exactly the weights that ship (fp16-stored)
    assert seen and all(torch.equal(seen[n].float(), shipped[n].float()) for n in shipped)
    history = ck.metrics["training"]["history"]
    assert len(history) == 2 and all("val_distress" in h for h in history)
    assert (
        cli_main(["calibrate", "--model", str(out), "--data", str(DATA), "--suicidewatch-recall", "0.8"]) == 0
    )
    assert load_checkpoint(out).calibration.rule("suicidewatch").target_recall == 0.8
    capsys.readouterr()
    assert (
        cli_main(
            [
                "evaluate",
                "--model",
                str(out),
                "--task",
                "distress",
                "--data",
                str(DATA),
                "--split",
                "val",
                "--json",
                "--write",
            ]
        )
        == 0
    )
    rep = json.loads(capsys.readouterr().out)
    assert rep["n"] == 1014 and 0 <= rep["macro_f1"] <= 1
    # calibrated on validation: the stored threshold meets its validation recall target
    assert rep["flags"]["suicidewatch"]["recall"] >= 0.8
    assert json.loads((out / "metrics.json").read_text())["distress_val"]["macro_f1"] == rep["macro_f1"]
    load_checkpoint(out)  # --write refreshed the manifest


def test_bad_recipe_is_one_clear_line(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("epochz = 3\n", encoding="utf-8")
    assert cli_main(["train", "--recipe", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "epochz" in err and "Traceback" not in err


def test_missing_model_folder_is_one_clear_line(tmp_path, capsys):
    assert (
        cli_main(
            ["evaluate", "--model", str(tmp_path / "nope"), "--task", "emotion", "--data", str(tmp_path)]
        )
        == 2
    )
    assert "not a folder" in capsys.readouterr().err
