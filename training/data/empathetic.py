"""EmpatheticDialogues (Rashkin et al. 2019): 25k short conversations, each grounded in one of 32 emotions.

Files: ``data/empatheticdialogues/{train,valid}.csv.xz`` (xz copies of the reconstructed
splits, see ``data/empatheticdialogues/README.md``). One CSV row per utterance with the header
``conv_id,utterance_idx,context,prompt,speaker_role,utterance``: ``context`` is the emotion
label and ``prompt`` the situation the speaker wrote before chatting. There is no test split
here; ``valid`` is the held-out set we report on.
"""

from __future__ import annotations

import csv
import lzma
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from training.common.paths import DATA_DIR

FOLDER = DATA_DIR / "empatheticdialogues"
SPLITS = ("train", "valid")
EMOTIONS: list[str] = (FOLDER / "emotions.txt").read_text(encoding="utf-8").split()

Role = Literal["speaker", "listener"]


@dataclass(frozen=True)
class Turn:
    role: Role
    text: str


@dataclass
class Conversation:
    conv_id: str
    emotion: str
    situation: str
    turns: list[Turn] = field(default_factory=list)


def split_path(split: str) -> Path:
    if split not in SPLITS:
        raise ValueError(f"unknown EmpatheticDialogues split {split!r}; have {SPLITS}")
    return FOLDER / f"{split}.csv.xz"


def load_conversations(split: str, limit: int | None = None) -> list[Conversation]:
    """The first ``limit`` conversations of ``split`` (all when ``None``), in file order."""
    conversations: list[Conversation] = []
    with lzma.open(split_path(split), "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if not conversations or conversations[-1].conv_id != row["conv_id"]:
                if limit is not None and len(conversations) >= limit:
                    break
                if row["context"] not in EMOTIONS:
                    raise ValueError(f"{split_path(split)}: unexpected emotion {row['context']!r} in {row['conv_id']}")
                conversations.append(Conversation(row["conv_id"], row["context"], row["prompt"]))
            role = row["speaker_role"]
            if role not in ("speaker", "listener"):
                raise ValueError(f"{split_path(split)}: unexpected role {role!r} in {row['conv_id']}")
            conversations[-1].turns.append(Turn(role, row["utterance"]))
    return conversations
