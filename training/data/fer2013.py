"""FER2013 (Goodfellow et al. 2013): 48x48 grayscale faces, each with one of 7 emotions.

It is not in ``data/`` (its licence is the Kaggle challenge's; download it yourself). Either layout works:

* the Kaggle CSV ``fer2013.csv``: columns ``emotion`` (0 angry, 1 disgust, 2 fear, 3 happy, 4 sad,
  5 surprise, 6 neutral), ``pixels`` (2,304 space-separated grey levels) and ``Usage``
  (``Training`` / ``PublicTest`` / ``PrivateTest``);
* an image folder: ``<root>/train/<class>/*.png|jpg`` and ``<root>/test/<class>/...`` with the class
  names below (the layout of the widely shared image version), optionally ``<root>/val/<class>/``.

Splits, the same names for both: ``train`` (Training / train), ``val`` (PublicTest / val: picks the
best checkpoint; carved from train when the folder has none) and ``test`` (PrivateTest / test: what
we report, never trained on).
"""

from __future__ import annotations

import csv
import hashlib
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.common.paths import MissingData

LABELS = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]  # the serving order (alphabetical)
CSV_CLASSES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]  # the CSV's emotion ids
CSV_USAGE = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}
SIDE = 48


@dataclass(frozen=True)
class Face:
    image: Any  # PIL.Image, RGB
    label: int  # index into LABELS


class DatasetMissing(MissingData):
    """No FER2013 at the given path, in either layout."""


def layout(path: Path) -> str:
    if path.is_file() and path.suffix == ".csv":
        return "csv"
    if path.is_dir() and (path / "train").is_dir():
        return "folder"
    raise DatasetMissing(
        f"no FER2013 at {path}: give the Kaggle fer2013.csv, or a folder with train/<class>/ and test/<class>/ "
        f"image folders (classes: {', '.join(LABELS)}); it cannot be downloaded here"
    )


def load(path: Path, limits: dict[str, int | None] | None = None) -> dict[str, list[Face]]:
    """Every split found at ``path`` (``train``, ``test``, and ``val`` when the data has one), each cut to its limit."""
    limits = limits or {}
    splits = _load_csv(path, limits) if layout(path) == "csv" else _load_folder(path, limits)
    if not splits.get("train") or not splits.get("test"):
        raise DatasetMissing(f"{path}: FER2013 needs a train and a test split; found {sorted(splits)}")
    return splits


def fingerprint_files(path: Path) -> tuple[list[Path], str | None]:
    """What the run manifest hashes: the CSV itself, or (folder) a digest of every image's name and size."""
    if layout(path) == "csv":
        return [path], None
    digest = hashlib.sha256()
    for file in sorted(_images(path)):
        digest.update(f"{file.relative_to(path)}:{file.stat().st_size}\n".encode())
    return [], digest.hexdigest()


def _load_csv(path: Path, limits: dict[str, int | None]) -> dict[str, list[Face]]:
    from PIL import Image

    splits: dict[str, list[Face]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"emotion", "pixels", "Usage"} - set(reader.fieldnames or [])
        if missing:
            raise DatasetMissing(f"{path}: not the FER2013 CSV (no column(s) {sorted(missing)})")
        for line, row in enumerate(reader, start=2):
            split = CSV_USAGE.get(row["Usage"].strip())
            if split is None:
                raise ValueError(f"{path}:{line}: unknown Usage {row['Usage']!r}")
            chosen = splits.setdefault(split, [])
            limit = limits.get(split)
            if limit is not None and len(chosen) >= limit:
                continue
            pixels = bytes(int(value) for value in row["pixels"].split())
            if len(pixels) != SIDE * SIDE:
                raise ValueError(f"{path}:{line}: {len(pixels)} pixels, expected {SIDE * SIDE}")
            label = LABELS.index(CSV_CLASSES[int(row["emotion"])])
            chosen.append(Face(Image.frombytes("L", (SIDE, SIDE), pixels).convert("RGB"), label))
    return splits


def _load_folder(path: Path, limits: dict[str, int | None]) -> dict[str, list[Face]]:
    from PIL import Image

    splits: dict[str, list[Face]] = {}
    for split, folder in (("train", "train"), ("val", "val"), ("test", "test")):
        root = path / folder
        if not root.is_dir():
            continue
        unknown = sorted(d.name for d in root.iterdir() if d.is_dir() and d.name.lower() not in LABELS)
        if unknown:
            raise ValueError(f"{root}: unknown class folder(s) {unknown}; expected {LABELS}")
        files = sorted(_images(root))
        limit = limits.get(split)
        chosen = []
        # Round-robin over the classes, so a limit keeps every class.
        by_class = {label: deque(f for f in files if f.parent.name.lower() == label) for label in LABELS}
        while any(by_class.values()) and (limit is None or len(chosen) < limit):
            for label in LABELS:
                if by_class[label] and (limit is None or len(chosen) < limit):
                    with Image.open(by_class[label].popleft()) as image:
                        chosen.append(Face(image.convert("RGB"), LABELS.index(label)))
        splits[split] = chosen
    return splits


def _images(root: Path) -> list[Path]:
    return [f for f in root.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES]
