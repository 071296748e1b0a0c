"""The journal-mood recipe end to end on a tiny encoder: it learns, and leaves a servable artifact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.recipe_runs import assert_settings, logged_train_losses, train_tiny_classifier
from training.cli import main as cli_main
from training.common.config import load_config
from training.common.paths import configs_dir
from training.recipes import journal_mood


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tiny_classifier(journal_mood, tmp_path_factory)


def _records(artifact: Path) -> list[dict]:
    return [json.loads(line) for line in (artifact / "metrics.jsonl").read_text().splitlines()]


def test_training_loss_falls(artifact: Path) -> None:
    losses = logged_train_losses(artifact)
    assert len(losses) >= 5
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3


def test_artifact_holds_model_labels_report_and_manifest(artifact: Path) -> None:
    assert json.loads((artifact / "labels.json").read_text())["labels"] == journal_mood.LABELS
    for name in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "README.md",
        "loss_curves.png",
        "confusion_matrix.png",
        "classification_report.txt",
    ):
        assert (artifact / name).is_file(), name
    assert not (artifact / "checkpoints").exists()
    manifest = json.loads((artifact / "run_manifest.json").read_text())
    assert {f["path"] for f in manifest["data_files"]} == {
        "data/dair_emotion/train.txt.gz",
        "data/dair_emotion/val.txt.gz",
    }
    summary = manifest["summary"]
    assert summary["report_split"] == "dair_emotion/val" and summary["report_rows"] == 100
    assert 0.0 <= summary["macro_f1"] <= summary["accuracy"] + 1.0
    assert any(r["split"] == "eval" and "macro_f1" in r for r in _records(artifact))
    assert "surprise" in (artifact / "classification_report.txt").read_text()


def test_founding_roberta_config_inherits_and_reports_missing_weights(capsys: pytest.CaptureFixture[str]) -> None:
    config = load_config(journal_mood.Config, configs_dir("journal-mood") / "roberta-base.toml")
    assert_settings(
        config, model="roberta-base", epochs=3.0, lr=2e-5, batch_size=16, max_length=64, pooling="cls", head_lr=0.0
    )
    assert cli_main(["train", "journal-mood", "--config", "roberta-base", "--out", "/tmp/never-written"]) == 3
    assert "unavailable" in capsys.readouterr().err


def test_eval_cli_scores_the_artifact_on_the_validation_file(
    artifact: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plot = tmp_path / "cm.png"
    assert cli_main(["eval", "classifiers", "--model-dir", str(artifact), "--limit", "40", "--plot", str(plot)]) == 0
    printed = capsys.readouterr().out
    result = json.loads(printed[printed.index("{") :])
    assert result["dataset"] == "dair_emotion/val" and result["rows"] == 40
    assert 0.0 <= result["accuracy"] <= 1.0 and "macro avg" in printed
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_recipe_report_matches_the_served_model_on_the_same_rows(
    artifact: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = json.loads((artifact / "eval_results.json").read_text())
    assert cli_main(["eval", "classifiers", "--model-dir", str(artifact), "--limit", str(summary["report_rows"])]) == 0
    printed = capsys.readouterr().out
    served = json.loads(printed[printed.index("{") :])
    assert served["accuracy"] == pytest.approx(summary["accuracy"], abs=0.021)
    assert served["macro_f1"] == pytest.approx(summary["macro_f1"], abs=0.03)
