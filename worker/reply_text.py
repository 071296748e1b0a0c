"""What a finished reply looks like to a person: a reply cut by the token limit ends at a sentence.

A reply that runs into ``max_new_tokens`` stops wherever the last token fell, often mid-word.
``cut_at_sentence`` takes it back to the last complete sentence (or, with none, the last whole
word and an ellipsis), so the person reads a reply that ends, and ``finish_reason: "length"``
tells the client it was shortened.
"""

from __future__ import annotations

import re

# A sentence ends at . ! ? or … (with any closing quotes or brackets) before whitespace or the end.
_SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*(?=\s|$)")
ELLIPSIS = "\u2026"


def cut_at_sentence(text: str) -> str:
    """``text`` up to its last complete sentence; idempotent, and unchanged when it already ends one."""
    stripped = text.rstrip()
    ends = [match.end() for match in _SENTENCE_END.finditer(stripped)]
    if ends:
        return stripped[: ends[-1]].rstrip()
    head, space, _ = stripped.rpartition(" ")
    if not space or not head.strip():
        return stripped
    return head.rstrip(" ,;:-\u2013\u2014") + ELLIPSIS
