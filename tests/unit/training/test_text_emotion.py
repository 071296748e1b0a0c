"""The text-emotion recipe on a tiny encoder: multi-label training, tuned thresholds, honest report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.fixtures.recipe_runs import assert_settings, logged_train_losses, train_tiny_classifier
from training.common.classification_metrics import tune_thresholds
from training.common.config import load_config
from training.common.paths import configs_dir
from training.common.text_classification import positive_weights
from training.recipes import text_emotion


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tiny_classifier(text_emotion, tmp_path_factory)


def test_training_loss_falls(artifact: Path) -> None:
    losses = logged_train_losses(artifact)
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3


def test_artifact_is_multi_label_with_a_threshold_per_emotion(artifact: Path) -> None:
    labels = json.loads((artifact / "labels.json").read_text())
    assert labels["task"] == "multi_label" and labels["labels"] == text_emotion.LABELS
    assert len(labels["labels"]) == 28 and labels["labels"][-1] == "neutral"
    thresholds = json.loads((artifact / "thresholds.json").read_text())
    assert set(thresholds) == set(text_emotion.LABELS) and all(0 < t < 1 for t in thresholds.values())
    summary = json.loads((artifact / "run_manifest.json").read_text())["summary"]
    assert summary["report_split"] == "goemotions/dev"
    assert "held out of goemotions/train" in summary["thresholds_tuned_on"]


def test_founding_distilbert_settings() -> None:
    config = load_config(text_emotion.Config, configs_dir("text-emotion") / "distilbert.toml")
    assert_settings(
        config,
        model="distilbert-base-uncased",
        lr=2e-5,
        batch_size=16,
        epochs=3.0,
        max_length=128,
        warmup=0.1,
        pooling="cls",
        pos_weight="none",
        head_lr=0.0,
    )


def test_thresholds_are_tuned_per_label_for_best_f1() -> None:
    truth = np.array([[1, 0], [1, 0], [0, 1], [0, 0]])
    probabilities = np.array([[0.30, 0.9], [0.25, 0.8], [0.10, 0.85], [0.05, 0.2]])
    thresholds = tune_thresholds(probabilities, truth)
    assert 0.10 < thresholds[0] <= 0.25  # separates the two positives (0.25, 0.30) from 0.10
    assert 0.80 < thresholds[1] <= 0.85  # only the 0.85 row is positive


def test_eval_cli_scores_multi_label_on_dev(artifact: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from training.cli import main as cli_main

    plot = tmp_path / "cm.png"
    assert cli_main(["eval", "classifiers", "--model-dir", str(artifact), "--limit", "40", "--plot", str(plot)]) == 0
    printed = capsys.readouterr().out
    result = json.loads(printed[printed.index("{") :])
    assert result["dataset"] == "goemotions/dev" and 0.0 <= result["macro_f1"] <= 1.0
    assert plot.is_file()


def test_rare_emotions_weigh_more_in_the_loss() -> None:
    targets = np.zeros((100, 3), dtype=np.float32)
    targets[:50, 0] = 1  # common
    targets[:4, 1] = 1  # rare
    config = text_emotion.Config(pos_weight="sqrt_inverse")
    weights = positive_weights(config, targets)
    assert weights[0] == pytest.approx(1.0) and weights[1] == pytest.approx((96 / 4) ** 0.5)
    assert weights[2] > weights[1]  # a label with no positives is clipped, not divided by zero
    assert positive_weights(text_emotion.Config(pos_weight="none"), targets) is None
    with pytest.raises(ValueError, match="pos_weight"):
        positive_weights(text_emotion.Config(pos_weight="inverse"), targets)
