"""A zero-cost, deterministic chat model for fault, load and fuzz tests (kind ``echo``).

It loads nothing and answers every turn with the same words for the same user message, one
word a chunk, so a test can drive hundreds of turns on two cores and still land a kill or a
disconnect in the middle of a streaming reply. ``spec.options``: ``token_delay_s`` (pause
before each word, default 0.02) and ``words`` (how many words a reply has, default 12).
Never register it for real users: it understands nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

from worker.models.base import GenerationRequest, LoadContext, ModelSpec, StreamChunk

_VOCABULARY = ("I", "hear", "you", "and", "that", "sounds", "hard", "tell", "me", "more", "about", "it")


class EchoModel:
    def __init__(self, spec: ModelSpec, context: LoadContext) -> None:
        self.spec = spec
        self.token_delay_s = float(spec.options.get("token_delay_s", 0.02))
        self.words = int(spec.options.get("words", 12))
        self._cancelled: set[str] = set()

    @property
    def version(self) -> str:
        return f"echo-{self.words}"

    def load(self) -> None:
        pass

    def unload(self) -> None:
        pass

    def memory_bytes(self) -> int:
        return 0

    def cancel(self, request_id: str) -> None:
        self._cancelled.add(request_id)

    def reply_words(self, request: GenerationRequest) -> list[str]:
        last = next((t.content for t in reversed(request.history) if t.role == "user"), "")
        seed = hashlib.sha256(last.encode("utf-8", "surrogatepass")).digest()
        limit = min(self.words, request.max_new_tokens)
        return [_VOCABULARY[seed[i % len(seed)] % len(_VOCABULARY)] for i in range(limit)]

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamChunk]:
        words = self.reply_words(request)
        # A worker that died mid-reply is continued after the text it already streamed.
        done = len(request.prefix.split())
        try:
            for position in range(done, len(words)):
                if request.request_id in self._cancelled:
                    yield StreamChunk(finish_reason="cancelled", completion_tokens=position)
                    return
                if self.token_delay_s:
                    await asyncio.sleep(self.token_delay_s)
                yield StreamChunk(text=("" if position == 0 else " ") + words[position])
            finish = "length" if len(words) == request.max_new_tokens else "stop"
            yield StreamChunk(finish_reason=finish, prompt_tokens=len(request.history), completion_tokens=len(words))
        finally:
            self._cancelled.discard(request.request_id)
