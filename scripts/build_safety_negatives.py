"""Build the everyday messages the crisis detector learns "no risk" from.

    python scripts/build_safety_negatives.py          # writes worker/safety/everyday.jsonl.gz

The hand-written bank (``worker/safety/crisis_bank.jsonl``) has a few hundred hard
look-alikes, but too few plain messages: with only those, a detector learns that any mention
of pills, "killed it" or a Spanish greeting is unusual. This samples ordinary messages from
the *train* splits of EmpatheticDialogues (speaker turns), GoEmotions and dair-ai emotion
(the splits our evaluations use are never read) and drops every one that mentions suicide,
self-harm or wanting to die, so that a crisis in a dataset is never labelled "none". A fixed
seed keeps the file the same from run to run. Credits and licences: data/SOURCES.md.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from pathlib import Path

from training.data import dair, empathetic, goemotions

OUT = Path(__file__).resolve().parents[1] / "worker" / "safety" / "everyday.jsonl.gz"
SEED = 20261201
PER_SOURCE = {"empatheticdialogues": 1600, "goemotions": 900, "dair_emotion": 500}
# Anything that might be a real crisis stays out of the "none" examples.
RISKY = re.compile(
    r"suicid|kill (?:my|him|her|them)sel|killing myself|kms|\bdie\b|dying|dead|death|self.?harm|cut(?:ting)? myself|"
    r"hurt myself|overdos|pills|end it|end my life|hang myself|noose|not (?:want|wanna) to (?:live|be here)|"
    r"better off without me|unalive|off myself|jump off|razor|wrists?",
    re.IGNORECASE,
)


def _everyday(texts: list[str], count: int, rng: random.Random) -> list[str]:
    kept = sorted({t.strip() for t in texts if 3 <= len(t.split()) <= 60 and not RISKY.search(t)})
    rng.shuffle(kept)
    return kept[:count]


def main() -> None:
    rng = random.Random(SEED)
    conversations = empathetic.load_conversations("train")
    speaker = [turn.text for c in conversations for turn in c.turns if turn.role == "speaker"]
    sources = {
        "empatheticdialogues": speaker,
        "goemotions": [example.text for example in goemotions.load_split("train")],
        "dair_emotion": [example.text for example in dair.load_split("train")],
    }
    rows = [
        {"text": text, "lang": "en", "level": "none", "category": f"everyday:{name}"}
        for name, texts in sources.items()
        for text in _everyday(texts, PER_SOURCE[name], rng)
    ]
    with gzip.open(OUT, "wt", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} everyday messages -> {OUT}")


if __name__ == "__main__":
    main()
