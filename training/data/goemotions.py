"""GoEmotions (Demszky et al. 2020): Reddit comments with any of 27 emotions or ``neutral``.

Files: ``data/goemotions/{train,dev}.tsv.gz`` (``text<TAB>label ids<TAB>comment id``),
``emotions.txt.gz`` (the 28 names; ids index its lines), and the Ekman and sentiment
groupings. ``dev`` is what we report on; tune anything (thresholds) on a slice of ``train``.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

from training.common.paths import DATA_DIR

FOLDER = DATA_DIR / "goemotions"
SPLITS = ("train", "dev")


def _read_emotions() -> list[str]:
    with gzip.open(FOLDER / "emotions.txt.gz", "rt", encoding="utf-8") as handle:
        return [line.strip() for line in handle if line.strip()]


EMOTIONS: list[str] = _read_emotions()


@dataclass(frozen=True)
class Example:
    text: str
    labels: tuple[int, ...]  # indices into EMOTIONS
    comment_id: str


def split_path(split: str) -> Path:
    if split not in SPLITS:
        raise ValueError(f"unknown goemotions split {split!r}; have {SPLITS}")
    return FOLDER / f"{split}.tsv.gz"


def load_split(split: str, limit: int | None = None) -> list[Example]:
    """The first ``limit`` comments of ``split`` (all when ``None``), in file order."""
    examples = []
    with gzip.open(split_path(split), "rt", encoding="utf-8") as handle:
        for line in handle:
            text, ids, comment_id = line.rstrip("\n").split("\t")
            examples.append(Example(text=text, labels=tuple(int(i) for i in ids.split(",")), comment_id=comment_id))
            if limit is not None and len(examples) >= limit:
                break
    return examples


def ekman_mapping() -> dict[str, list[str]]:
    """The 6 Ekman groups -> the GoEmotions emotions in each (``neutral`` is in none)."""
    with gzip.open(FOLDER / "ekman_mapping.json.gz", "rt", encoding="utf-8") as handle:
        return json.load(handle)


def sentiment_mapping() -> dict[str, list[str]]:
    """positive / negative / ambiguous -> emotions (``neutral`` is in none)."""
    with gzip.open(FOLDER / "sentiment_dict.json.gz", "rt", encoding="utf-8") as handle:
        return json.load(handle)
