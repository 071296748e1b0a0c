"""Turn a growing list of token ids into text deltas that never repeat and never split a character.

Decoding one token at a time is wrong for byte-level and sentencepiece vocabularies: a
character can span tokens (the first token alone decodes to U+FFFD) and a token's leading
space depends on its neighbour. So each step decodes a short window of recent tokens twice
(with and without the newest ones) and emits only the difference, holding text back while it
ends in an incomplete character (the approach of vLLM and TGI).
"""

from __future__ import annotations

from typing import Any

_INCOMPLETE = "\ufffd"


class IncrementalDetokenizer:
    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer
        self._ids: list[int] = []
        self._prefix_offset = 0  # start of the context window re-decoded each step
        self._read_offset = 0  # tokens before this have been emitted as text

    def _decode(self, ids: list[int]) -> str:
        return self._tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)

    def push(self, token_id: int) -> str:
        """Add one generated token; return the new text it completes (possibly "")."""
        self._ids.append(token_id)
        emitted = self._decode(self._ids[self._prefix_offset : self._read_offset])
        current = self._decode(self._ids[self._prefix_offset :])
        if len(current) <= len(emitted) or current.endswith(_INCOMPLETE):
            return ""
        self._prefix_offset = self._read_offset
        self._read_offset = len(self._ids)
        return current[len(emitted) :]

    def flush(self) -> str:
        """Text still held back at the end of the reply (e.g. a genuinely invalid byte sequence)."""
        emitted = self._decode(self._ids[self._prefix_offset : self._read_offset])
        current = self._decode(self._ids[self._prefix_offset :])
        self._prefix_offset = self._read_offset = len(self._ids)
        return current[len(emitted) :]
