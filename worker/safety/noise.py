"""Copies of labelled messages with a token in them that is not a word: an order number, a code,
a link, an e-mail address, a username, a hashtag, a keyboard smash. Same label as the original.

People write such tokens into ordinary messages, and neither the character model nor the crisis
head had seen one: after the seventh freeze, "Tell me something calming (gxahitkv)" was read as
ideation, and after a retrain one message in four with a random id was (docs/safety.md,
"Tokens that are not words"). Training both on a share of the labelled lines with such a token
added teaches them that it says nothing about risk, either way: crisis lines get tokens too, so
a token never makes a crisis look safe. Deterministic for a seed.
"""

from __future__ import annotations

import random
import string
from collections.abc import Sequence

# The share of labelled lines that also appear with a token added (one copy each).
NOISE_SHARE = 0.3
_LOWER_DIGITS = string.ascii_lowercase + string.digits
_SMASH_ROWS = ("asdfghjkl", "qwertyuiop", "zxcvbnm", "jkjkjk", "sdfsdf", "ñlkjh")


def noise_token(rng: random.Random) -> str:
    """One token of a kind people paste or type into a chat message."""
    kind = rng.randrange(8)
    if kind == 0:  # an id, a base36 timestamp, a short code
        return "".join(rng.choice(_LOWER_DIGITS) for _ in range(rng.randint(5, 10)))
    if kind == 1:
        return "".join(rng.choice("0123456789abcdef") for _ in range(rng.choice((7, 8, 12))))
    if kind == 2:
        return f"#{rng.randint(1000, 9_999_999)}"
    if kind == 3:
        path = "".join(rng.choice(_LOWER_DIGITS) for _ in range(rng.randint(4, 9)))
        host = rng.choice(("bit.ly", "t.co", "youtu.be", "drive.google.com", "example.org", "imgur.com"))
        return f"https://{host}/{path}"
    if kind == 4:
        name = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 7)))
        return f"{name}{rng.randint(1, 99)}@{rng.choice(('gmail.com', 'hotmail.com', 'outlook.es', 'yahoo.com'))}"
    if kind == 5:
        name = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 8)))
        return f"@{name}{rng.choice(('', '_', '.'))}{rng.randint(0, 999)}"
    if kind == 6:
        row = rng.choice(_SMASH_ROWS)
        start = rng.randrange(len(row) - 3)
        return row[start : start + rng.randint(3, len(row) - start)]
    letters = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(5, 10)))
    return rng.choice((letters, letters.upper(), f"({letters})"))


def with_token(text: str, rng: random.Random) -> str:
    """``text`` with one token at its end, its start, in brackets, or between two of its words."""
    token = noise_token(rng)
    words = text.split()
    where = rng.randrange(4)
    if where == 0 or len(words) < 2:
        return f"{text} {token}"
    if where == 1:
        return f"{text} ({token})"
    if where == 2:
        return f"{token} {text}"
    cut = rng.randrange(1, len(words))
    return " ".join([*words[:cut], token, *words[cut:]])


def noisy_copies(texts: Sequence[str], seed: int = 0, share: float = NOISE_SHARE) -> list[tuple[int, str]]:
    """(index of the original, its copy with a token) for a seeded ``share`` of ``texts``."""
    rng = random.Random(seed)
    return [(index, with_token(text, rng)) for index, text in enumerate(texts) if rng.random() < share]
