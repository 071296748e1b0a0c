"""Emotion in every turn: classify the user's message and the reply, and score how they align."""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import math

from attune.contract import EmotionReading, ImageAttachment
from worker.fusion import fuse
from worker.models.base import Classifier, ImageClassifier, ModelUnavailable
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


class FaceReader:
    """Reads the face in a message's photo with the ``image_emotion`` model, and fuses it with the text."""

    def __init__(self, models: ModelManager, name: str) -> None:
        self.models = models
        self.name = name if name in models.registry.specs else None

    async def read(self, image: ImageAttachment) -> tuple[EmotionReading | None, str | None]:
        """(the face's reading, None) or (None, why the photo was not read). The bytes stay in memory."""
        if self.name is None:
            return None, "no face-emotion model is configured"
        try:
            model = await self.models.get(self.name)
        except ModelUnavailable as exc:  # the detail (paths, setup) is for the operator, not the chat
            log.info("face classifier %s unavailable: %s", self.name, exc)
            return None, "the face-emotion model is not available on this server"
        assert isinstance(model, ImageClassifier)
        try:
            data = base64.b64decode(image.data, validate=True)
            (reading,) = await asyncio.to_thread(lambda: model.classify_images([model.decode_image(data)]))
        except (binascii.Error, ValueError) as exc:
            return None, str(exc) or "the photo could not be decoded"
        return reading.model_copy(update={"model": self.name}), None

    async def fuse(self, text: EmotionReading | None, image: ImageAttachment | None) -> EmotionReading | None:
        """The turn's emotion: ``text`` alone without a photo (or without a text reading), else fused."""
        if image is None or text is None:
            return text
        face, error = await self.read(image)
        return fuse(text, face, error)


def alignment(user: EmotionReading | None, reply: EmotionReading | None) -> float | None:
    """Cosine between the two emotion distributions (same classifier, same label set)."""
    if user is None or reply is None:
        return None
    labels = sorted(set(user.scores) | set(reply.scores))
    a = [user.scores.get(label, 0.0) for label in labels]
    b = [reply.scores.get(label, 0.0) for label in labels]
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return round(sum(x * y for x, y in zip(a, b, strict=True)) / norm, 4) if norm else None
