"""``attune eval classifiers --model-dir DIR``: score a classifier artifact through the worker's own loader.

A single-label (journal-mood) artifact is scored on the dair val file: accuracy, macro-F1, the
classification report and a confusion matrix. A multi-label (text-emotion) artifact is scored on
GoEmotions dev with its tuned thresholds: macro/micro-F1 and the report, plus a confusion matrix
of its top label on the dev rows that carry exactly one gold emotion.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from training.common.classification_metrics import multi_label_scores, plot_confusion_matrix, single_label_scores
from training.data import dair, goemotions


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="attune eval classifiers", description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, required=True, help="an artifact built by a classifier recipe")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N rows")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--plot", type=Path, default=None, help="confusion-matrix PNG (default: <model-dir>/eval_confusion_matrix.png)"
    )
    args = parser.parse_args(argv)

    from worker.models.classifier import TextClassifier

    classifier = TextClassifier.from_artifact(args.model_dir, args.batch_size)
    plot = args.plot or args.model_dir / "eval_confusion_matrix.png"
    started = time.perf_counter()
    if classifier.multi_label:
        result = _score_multi_label(classifier, args.limit, plot)
    else:
        result = _score_single_label(classifier, args.limit, plot)
    seconds = time.perf_counter() - started
    print(result.pop("report"))
    print(
        json.dumps(
            {
                "model": str(args.model_dir),
                "version": classifier.version,
                **result,
                "seconds": round(seconds, 1),
                "confusion_matrix": str(plot),
            },
            indent=2,
        )
    )
    return 0


def _score_single_label(classifier, limit: int | None, plot: Path) -> dict:
    rows = dair.load_split("val", limit)
    truth = np.array([classifier.labels.index(row.label) for row in rows])
    predicted = classifier.probabilities([row.text for row in rows]).argmax(dim=1).numpy()
    scores = single_label_scores(truth, predicted, classifier.labels)
    plot_confusion_matrix(truth, predicted, classifier.labels, plot, title=f"dair val ({len(rows)} rows)")
    return _result("dair_emotion/val", len(rows), scores, "accuracy", "macro_f1")


def _score_multi_label(classifier, limit: int | None, plot: Path) -> dict:
    rows = goemotions.load_split("dev", limit)
    texts = [row.text for row in rows]
    truth = np.zeros((len(rows), len(classifier.labels)), dtype=int)
    for i, row in enumerate(rows):
        truth[i, [classifier.labels.index(goemotions.EMOTIONS[j]) for j in row.labels]] = 1
    carried = classifier.predict_labels(texts)
    predicted = np.array([[int(label in labels) for label in classifier.labels] for labels in carried])
    scores = multi_label_scores(truth, predicted, classifier.labels)
    single = [i for i, row in enumerate(rows) if len(row.labels) == 1]
    top = [classifier.labels.index(reading.label) for reading in classifier.classify([texts[i] for i in single])]
    plot_confusion_matrix(
        truth[single].argmax(axis=1),
        np.array(top),
        classifier.labels,
        plot,
        title=f"GoEmotions dev, top label, {len(single)} single-label rows",
    )
    return _result("goemotions/dev", len(rows), scores, "macro_f1", "micro_f1")


def _result(dataset: str, rows: int, scores: dict, *metrics: str) -> dict:
    """What ``main`` prints of a scoring: the data, ``metrics`` of ``scores`` to 4 places, the report."""
    return {"dataset": dataset, "rows": rows, **{m: round(scores[m], 4) for m in metrics}, "report": scores["report"]}
