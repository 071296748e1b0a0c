"""Journal entries tagged per second: TextClassifier in batches vs a one-by-one pipeline loop.

The founding plan tagged each entry with ``transformers.pipeline("text-classification")`` called
once per entry. This runs both ways on the same model in the same process over the same entries
(texts from the dair val file) and prints the ratio. A mean-pooled artifact is not a stock
sequence-classification model, so no pipeline can load it; its one-by-one baseline is the same
``TextClassifier`` called with one entry at a time.

    python scripts/bench_classify.py --model-dir var/models/journal-mood [--entries 2000] [--batch-size 64]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import torch
from transformers import pipeline

from training.data import dair
from worker.models.classifier import TextClassifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=Path("var/models/journal-mood"))
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    texts = [row.text for row in dair.load_split("val", args.entries)]
    classifier = TextClassifier.from_artifact(args.model_dir, args.batch_size, name="journal-mood")
    baseline, one_by_one = _one_by_one(classifier, args.model_dir)
    classifier.classify(texts[:8])  # warm-up: first-call allocations out of the timing
    one_by_one(texts[0])

    started = time.perf_counter()
    batched_labels = [reading.label for reading in classifier.classify(texts)]
    batched_s = time.perf_counter() - started

    started = time.perf_counter()
    looped_labels = [one_by_one(text) for text in texts]
    looped_s = time.perf_counter() - started

    agreement = sum(a == b for a, b in zip(batched_labels, looped_labels)) / len(texts)
    print(f"entries: {len(texts)}  model: {args.model_dir}  torch threads: {torch.get_num_threads()}")
    print(f"TextClassifier, batches of {args.batch_size}: {len(texts) / batched_s:8.1f} entries/s ({batched_s:.1f} s)")
    print(f"{baseline}, one entry per call: {len(texts) / looped_s:8.1f} entries/s ({looped_s:.1f} s)")
    print(f"speed-up: {looped_s / batched_s:.1f}x   same label: {agreement:.1%}")


def _one_by_one(classifier: TextClassifier, model_dir: Path) -> tuple[str, Callable[[str], str]]:
    """(name, text -> label): the founding pipeline where it can load the artifact."""
    if classifier.pooling == "cls":
        tagger = pipeline(
            "text-classification",
            model=str(model_dir),
            tokenizer=str(model_dir),
            device=-1,
            truncation=True,
            max_length=classifier.max_length,
        )
        return "pipeline", lambda text: tagger(text)[0]["label"]
    return "TextClassifier", lambda text: classifier.classify([text])[0].label


if __name__ == "__main__":
    main()
