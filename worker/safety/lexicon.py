"""The word lists of ``lexicon.toml`` and the regex helpers that match them forgivingly."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

LEXICON_PATH = Path(__file__).with_name("lexicon.toml")

# A doubled letter in a pattern also matches a single one ("kill" matches "kil"), so common
# misspellings need no entry of their own. Not after a backslash: "\bb" is "\b" then "b".
_DOUBLED_LETTER = re.compile(r"(?<!\\)([a-z])\1")

# Below this length a single letter changes the word ("ass" / "as"), so doubles stay strict.
MIN_TOLERANT_LENGTH = 4


@dataclass(frozen=True)
class Lexicon:
    slurs: tuple[str, ...]
    insults: tuple[str, ...]
    insult_fillers: tuple[str, ...]
    identity_groups: tuple[str, ...]
    strong_profanity: tuple[str, ...]
    sexual_explicit: tuple[str, ...]
    crisis_words: tuple[str, ...]

    def maskable_words(self) -> frozenset[str]:
        """Single words worth recovering from masks like "f*ck" or "k*ll"."""
        lists = (self.slurs, self.insults, self.strong_profanity, self.sexual_explicit, self.crisis_words)
        return frozenset(word for words in lists for word in words if " " not in word)


@cache
def load_lexicon(path: Path = LEXICON_PATH) -> Lexicon:
    with path.open("rb") as handle:
        raw = tomllib.load(handle)
    return Lexicon(**{name: tuple(raw[name]) for name in Lexicon.__dataclass_fields__})


def tolerant(pattern: str) -> str:
    """Make every doubled letter of a regex source optional-doubled: "kill" -> "kil{1,2}"."""
    return _DOUBLED_LETTER.sub(r"\1{1,2}", pattern)


def word_pattern(word: str, forgiving: bool = True) -> str:
    """A regex for one lexicon entry, tolerant of doubled letters when it is long enough.

    A short entry (or any entry when ``forgiving`` is off) keeps its doubles strict, in a form
    ("as[s]") that ``tolerant`` leaves alone, so a pattern built from entries can safely be
    made tolerant as a whole.
    """
    escaped = re.escape(word)
    if forgiving and len(word) >= MIN_TOLERANT_LENGTH:
        return tolerant(escaped)
    return _DOUBLED_LETTER.sub(r"\1[\1]", escaped)


def alternation(words: tuple[str, ...] | list[str], forgiving: bool = True) -> str:
    """``(?:w1|w2|...)`` with longer entries first, so "piece of shit" wins over "piece"."""
    ordered = sorted(set(words), key=len, reverse=True)
    return "(?:" + "|".join(word_pattern(word, forgiving) for word in ordered) + ")"
