"""Emotion in every turn: classify the user's message and the reply, and score how they align."""

from __future__ import annotations

import asyncio
import logging
import math

from attune.contract import EmotionReading
from worker.models.base import Classifier, ModelUnavailable
from worker.registry import ModelManager

log = logging.getLogger(__name__)


class EmotionReader:
    """Uses the fine-grained classifier when it can load, else the journal-mood one, else none."""

    def __init__(self, models: ModelManager, preferred: str, fallback: str) -> None:
        self.models = models
        self.candidates = [name for name in (preferred, fallback) if name in models.registry.specs]

    async def read(self, texts: list[str]) -> list[EmotionReading | None]:
        for name in self.candidates:
            try:
                model = await self.models.get(name)
            except ModelUnavailable as exc:
                log.debug("emotion classifier %s unavailable: %s", name, exc)
                continue
            assert isinstance(model, Classifier)
            readings = await asyncio.to_thread(model.classify, texts)
            return [reading.model_copy(update={"model": name}) for reading in readings]
        return [None] * len(texts)


def alignment(user: EmotionReading | None, reply: EmotionReading | None) -> float | None:
    """Cosine between the two emotion distributions (same classifier, same label set)."""
    if user is None or reply is None:
        return None
    labels = sorted(set(user.scores) | set(reply.scores))
    a = [user.scores.get(label, 0.0) for label in labels]
    b = [reply.scores.get(label, 0.0) for label in labels]
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return round(sum(x * y for x, y in zip(a, b, strict=True)) / norm, 4) if norm else None
