"""Scores for the emotion classifiers: pure functions over label arrays (numpy + scikit-learn)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, f1_score

THRESHOLD_GRID = np.round(np.arange(0.05, 0.96, 0.05), 2)


def single_label_scores(y_true: np.ndarray, y_pred: np.ndarray, labels: list[str]) -> dict[str, Any]:
    """Accuracy, macro-F1 and the full ``classification_report`` (as text and as a dict)."""
    ids = list(range(len(labels)))
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=ids, average="macro", zero_division=0)),
        "report": classification_report(y_true, y_pred, labels=ids, target_names=labels, digits=4, zero_division=0),
        "per_label": classification_report(
            y_true, y_pred, labels=ids, target_names=labels, output_dict=True, zero_division=0
        ),
    }


def single_label_selection_metrics(labels: list[str]) -> Callable[[Any], dict[str, float]]:
    """The Trainer's ``compute_metrics`` for a single-label model: accuracy and macro-F1 of an ``EvalPrediction``."""

    def metrics(prediction: Any) -> dict[str, float]:
        scores = single_label_scores(
            np.asarray(prediction.label_ids), np.argmax(prediction.predictions, axis=1), labels
        )
        return {"accuracy": scores["accuracy"], "macro_f1": scores["macro_f1"]}

    return metrics


def multi_label_scores(y_true: np.ndarray, y_pred: np.ndarray, labels: list[str]) -> dict[str, Any]:
    """Macro/micro F1 over the label columns of two 0/1 matrices, plus the per-label report."""
    return {
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "micro_f1": float(f1_score(y_true, y_pred, average="micro", zero_division=0)),
        "exact_match": float(np.mean(np.all(y_true == y_pred, axis=1))),
        "report": classification_report(y_true, y_pred, target_names=labels, digits=4, zero_division=0),
        "per_label": classification_report(y_true, y_pred, target_names=labels, output_dict=True, zero_division=0),
    }


def tune_thresholds(probabilities: np.ndarray, y_true: np.ndarray, grid: np.ndarray = THRESHOLD_GRID) -> np.ndarray:
    """Per label, the grid threshold with the best F1 on these rows (ties: the lower threshold)."""
    truth = y_true.astype(bool)
    f1_by_threshold = []
    for threshold in grid:
        predicted = probabilities >= threshold
        true_positives = (predicted & truth).sum(axis=0)
        denominator = predicted.sum(axis=0) + truth.sum(axis=0)
        f1_by_threshold.append(np.where(denominator > 0, 2 * true_positives / np.maximum(denominator, 1), 0.0))
    return grid[np.argmax(np.stack(f1_by_threshold), axis=0)].astype(np.float32)


def plot_confusion_matrix(
    y_true: np.ndarray, y_pred: np.ndarray, labels: list[str], path: Path, title: str = ""
) -> None:
    """Row-normalised confusion matrix (each row: where that true label's texts went), counts annotated."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = confusion_matrix(y_true, y_pred, labels=list(range(len(labels))))
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = max(5.0, 0.6 * len(labels))
    figure, axis = plt.subplots(figsize=(size + 1, size))
    image = axis.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    axis.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axis.set_yticks(range(len(labels)), labels)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    for row in range(len(labels)):
        for column in range(len(labels)):
            axis.text(
                column,
                row,
                str(counts[row, column]),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if rates[row, column] > 0.5 else "black",
            )
    figure.colorbar(image, fraction=0.046)
    axis.set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
