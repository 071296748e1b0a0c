"""A conversation's title: "New chat" until its first message names it.

The summary is deterministic and plain (no model is asked): the first few words that carry
letters, digits or symbols, on one line, cut at a word boundary with an ellipsis, without
trailing punctuation. Titles are private to their owner, so crisis messages are titled like
any other.
"""

from __future__ import annotations

import unicodedata

DEFAULT_TITLE = "New chat"
TITLE_WORDS = 7
TITLE_CHARS = 60
ELLIPSIS = "…"
# Sentence punctuation a title does not end with; closing brackets and quotes stay.
TRAILING = ".,;:!?…-–—。，、；：！？"
JOINERS = {"\u200c", "\u200d"}


def _is_punctuation(char: str) -> bool:
    return unicodedata.category(char).startswith("P")


def _visible(char: str) -> str:
    """Newlines, tabs and other controls become spaces; invisible format marks (bidi overrides,
    zero-width spaces) go, except the joiners that emoji sequences and some scripts need."""
    category = unicodedata.category(char)
    if category == "Cc" or category[0] == "Z":
        return " "
    if category[0] == "C" and char not in JOINERS:
        return ""
    return char


def title_from_message(content: str) -> str | None:
    """A short title summarising ``content``; None when it holds no word to title with."""
    words = [w for w in "".join(map(_visible, content)).split() if not all(map(_is_punctuation, w))]
    if not words:
        return None
    kept = words[:TITLE_WORDS]
    cut = len(kept) < len(words)
    while len(kept) > 1 and len(" ".join(kept)) > TITLE_CHARS:
        kept.pop()
        cut = True
    title = " ".join(kept)
    if len(title) > TITLE_CHARS:  # a single long word, such as a pasted link
        title, cut = title[:TITLE_CHARS], True
    title = title.rstrip(TRAILING + " ") or title
    return title + ELLIPSIS if cut else title
