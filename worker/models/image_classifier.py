"""``ImageEmotionClassifier``: reads the emotion of a face in a photo (kind ``image_emotion``).

Serves the artifact the ``face-emotion`` recipe builds (``training/recipes/face_emotion.py``): a
``save_pretrained`` ``ViTForImageClassification`` whose ``config.id2label`` holds the FER2013 classes
(angry, disgust, fear, happy, neutral, sad, surprise), the checkpoint's own image processor
(``preprocessor_config.json``: resize to the model's size, rescale, normalise) and
``run_manifest.json`` (whose ``run_id`` is the version). Scores are a softmax over the classes.

Photos are decoded in memory with Pillow (``decode_image``) and never written anywhere.
``spec.options``: ``batch_size`` (default 16), ``max_pixels`` (default 40 million: a bigger photo
is refused before it is decoded).
"""

from __future__ import annotations

import io
from typing import Any

from attune.contract import EmotionReading
from worker.models.artifact import ArtifactModel, read_json
from worker.models.base import LoadContext, ModelSpec, ModelUnavailable

DEFAULT_BATCH_SIZE = 16
DEFAULT_MAX_PIXELS = 40_000_000
FORMATS = {"JPEG", "PNG", "WEBP"}


class BadImage(ValueError):
    """The bytes are not a photo we read (wrong format, truncated, too many pixels)."""


class ImageEmotionClassifier(ArtifactModel):
    default_batch_size = DEFAULT_BATCH_SIZE

    def __init__(self, spec: ModelSpec, context: LoadContext) -> None:
        super().__init__(spec, context)
        self.max_pixels = int(spec.options.get("max_pixels", DEFAULT_MAX_PIXELS))
        config = read_json(self.artifact_dir, "config.json") or {}
        id2label = config.get("id2label", {})
        self.labels: list[str] = [id2label[key] for key in sorted(id2label, key=int)]
        self._processor: Any = None

    def load(self) -> None:
        if self._model is not None:
            return
        missing = [
            name for name in ("config.json", "preprocessor_config.json") if not (self.artifact_dir / name).is_file()
        ]
        if missing:
            raise ModelUnavailable(
                f"image classifier {self.spec.name!r}: no trained artifact at {self.artifact_dir} "
                f"(missing {', '.join(missing)}); run `attune train face-emotion ...`"
            )
        from transformers import AutoImageProcessor, ViTForImageClassification

        self._processor = AutoImageProcessor.from_pretrained(self.artifact_dir)
        model = ViTForImageClassification.from_pretrained(self.artifact_dir)
        self.labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
        self._model = model.to(self.context.device).eval()

    def unload(self) -> None:
        self._model = None
        self._processor = None

    def decode_image(self, data: bytes) -> Any:
        """An RGB ``PIL.Image`` from the photo's bytes; ``BadImage`` with a reason a person can read."""
        from PIL import Image, UnidentifiedImageError

        try:
            image = Image.open(io.BytesIO(data))
            if image.format not in FORMATS:
                raise BadImage(f"photos must be JPEG, PNG or WebP, not {image.format or 'unknown'}")
            if image.width * image.height > self.max_pixels:
                raise BadImage(
                    f"the photo has {image.width}x{image.height} pixels; at most {self.max_pixels:,} are read"
                )
            return image.convert("RGB")
        except BadImage:
            raise
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
            raise BadImage("the photo could not be decoded") from error

    def classify_images(self, images: list[Any]) -> list[EmotionReading]:
        """One reading per decoded image, in input order, ``batch_size`` images per forward pass."""
        self.load()
        import torch

        readings: list[EmotionReading] = []
        with torch.inference_mode():
            for start in range(0, len(images), self.batch_size):
                batch = self._processor(images=images[start : start + self.batch_size], return_tensors="pt")
                logits = self._model(pixel_values=batch["pixel_values"].to(self.context.device)).logits
                for row in torch.softmax(logits.float().cpu(), dim=-1):
                    scores = {label: round(float(p), 6) for label, p in zip(self.labels, row, strict=True)}
                    readings.append(
                        EmotionReading(label=self.labels[int(row.argmax())], scores=scores, model=self.spec.name)
                    )
        return readings
