"""The dair-ai "emotion" corpus (CARER): short English sentences, each with one of 6 moods.

Files: ``data/dair_emotion/{train,val}.txt.gz``, one ``text;label`` per line. ``val`` is the
held-out set we report on; model selection must split ``train`` instead.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

from training.common.paths import DATA_DIR

LABELS = ["joy", "sadness", "fear", "anger", "love", "surprise"]
SPLITS = ("train", "val")


@dataclass(frozen=True)
class Example:
    text: str
    label: str


def split_path(split: str) -> Path:
    if split not in SPLITS:
        raise ValueError(f"unknown dair_emotion split {split!r}; have {SPLITS}")
    return DATA_DIR / "dair_emotion" / f"{split}.txt.gz"


def load_split(split: str, limit: int | None = None) -> list[Example]:
    """The first ``limit`` examples of ``split`` (all when ``None``), in file order."""
    examples = []
    with gzip.open(split_path(split), "rt", encoding="utf-8") as handle:
        for line in handle:
            text, _, label = line.rstrip("\n").rpartition(";")
            if label not in LABELS:
                raise ValueError(f"{split_path(split)}: unexpected label {label!r} in {line!r}")
            examples.append(Example(text=text, label=label))
            if limit is not None and len(examples) >= limit:
                break
    return examples
