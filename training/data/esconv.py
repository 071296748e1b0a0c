"""ESConv (Emotional Support Conversation) dialogues from the repo's ``data/esconv`` copy.

Splits: the 1170 shared dialogues are split by dialogue, never by turn. ``valid`` is a fixed
10% slice, ``random.Random(2021).sample(range(1170), 117)`` over the file's line order;
``train`` is every other dialogue (see ``data/esconv/SOURCES.md``).
"""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "esconv"
DIALOGUES_FILE = DATA_DIR / "esconv_shared.jsonl.gz"
SPLITS = ("train", "valid")
VALID_FRACTION = 0.1
VALID_SEED = 2021

# The order of strategy.json; the ESConv README calls the last one "Other", the data "Others".
STRATEGIES: list[str] = [
    "Question",
    "Restatement or Paraphrasing",
    "Reflection of feelings",
    "Self-disclosure",
    "Affirmation and Reassurance",
    "Providing Suggestions",
    "Information",
    "Others",
]
_STRATEGY_ALIASES = {"Other": "Others"}


@dataclass(frozen=True)
class SupportTurn:
    role: Literal["seeker", "supporter"]
    text: str
    strategy: str | None = None  # one of STRATEGIES on supporter turns, None on seeker turns


@dataclass(frozen=True)
class Dialogue:
    emotion_type: str
    problem_type: str
    situation: str
    turns: list[SupportTurn]


def normalise_strategy(raw: str) -> str:
    """Map a raw strategy string ("[Others]", "Other", "Question") onto one of ``STRATEGIES``."""
    name = raw.strip().strip("[]").strip()
    name = _STRATEGY_ALIASES.get(name, name)
    if name not in STRATEGIES:
        raise ValueError(f"unknown ESConv strategy {raw!r}")
    return name


def valid_indices(n_dialogues: int) -> set[int]:
    """The line numbers of the validation dialogues: a seeded 10% sample, stable across runs."""
    return set(random.Random(VALID_SEED).sample(range(n_dialogues), round(n_dialogues * VALID_FRACTION)))


def load_dialogues(split: str, limit: int | None = None, path: Path = DIALOGUES_FILE) -> list[Dialogue]:
    """Dialogues of one split (``train`` or ``valid``), in file order, at most ``limit`` of them."""
    if split not in SPLITS:
        raise ValueError(f"unknown ESConv split {split!r}; expected one of {SPLITS}")
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines if line.strip()]
    held_out = valid_indices(len(records))
    wanted = [r for i, r in enumerate(records) if (i in held_out) == (split == "valid")]
    return [_parse_dialogue(record) for record in wanted[:limit]]


def _parse_dialogue(record: dict) -> Dialogue:
    turns = [
        SupportTurn(role="seeker", text=item["text"].strip())
        if item["speaker"] == "usr"
        else SupportTurn(role="supporter", text=item["text"].strip(), strategy=normalise_strategy(item["strategy"]))
        for item in record["dialog"]
    ]
    return Dialogue(
        emotion_type=record["emotion_type"].strip().lower(),
        problem_type=record["problem_type"].strip(),
        situation=record["situation"].strip(),
        turns=turns,
    )
