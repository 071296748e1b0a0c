"""``TextClassifier``: serves an emotion-classifier artifact built by ``training/`` (journal-mood, text-emotion).

The artifact directory holds a ``save_pretrained`` sequence-classification model (``"pooling": "cls"``,
the default) or an encoder with a mean-pooled head (``"pooling": "mean"``, see
``pooled_classifier``) and its tokenizer, ``labels.json`` (``{"task": "single_label" |
"multi_label", "labels": [...], "max_length": N, "pooling": ...}``),
``thresholds.json`` for multi-label models, and ``run_manifest.json`` (whose ``run_id`` is the
version). Single-label models give softmax scores; multi-label models give each label's sigmoid
probability, and the reading's label is the most probable label that clears its tuned threshold
(the most probable label overall when none does).

``spec.options``: ``batch_size`` (default 32), ``max_length`` (default: the artifact's).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from attune.contract import EmotionReading
from worker.models.artifact import ArtifactModel, read_json
from worker.models.base import LoadContext, ModelSpec, ModelUnavailable

DEFAULT_BATCH_SIZE = 32
DEFAULT_MAX_LENGTH = 128


class TextClassifier(ArtifactModel):
    default_batch_size = DEFAULT_BATCH_SIZE

    def __init__(self, spec: ModelSpec, context: LoadContext) -> None:
        super().__init__(spec, context)
        label_spec = read_json(self.artifact_dir, "labels.json") or {}
        self.labels: list[str] = list(label_spec.get("labels", []))
        self.multi_label = label_spec.get("task") == "multi_label"
        self.pooling = str(label_spec.get("pooling", "cls"))
        self.max_length = int(spec.options.get("max_length", label_spec.get("max_length", DEFAULT_MAX_LENGTH)))
        self._tokenizer: Any = None
        self._thresholds: Any = None

    @classmethod
    def from_artifact(cls, artifact_dir: Path, batch_size: int, name: str | None = None) -> TextClassifier:
        """Loaded straight from a built artifact directory, with no registry (the eval and bench scripts)."""
        spec = ModelSpec(
            name=name or artifact_dir.name,
            kind="classifier",
            weights=str(artifact_dir),
            chat=False,
            options={"batch_size": batch_size},
        )
        classifier = cls(spec, LoadContext(home=artifact_dir.parent))
        classifier.load()
        return classifier

    def load(self) -> None:
        if self._model is not None:
            return
        if not (self.artifact_dir / "labels.json").is_file() or not (self.artifact_dir / "config.json").is_file():
            raise ModelUnavailable(
                f"classifier {self.spec.name!r}: no trained artifact at {self.artifact_dir}; "
                f"run `attune prepare` or `attune train {self.spec.name} ...`"
            )
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self._tokenizer = AutoTokenizer.from_pretrained(self.artifact_dir)
        if self.pooling == "mean":
            from worker.models.pooled_classifier import MeanPooledClassifier

            model = MeanPooledClassifier.from_artifact(self.artifact_dir)
        else:
            model = AutoModelForSequenceClassification.from_pretrained(self.artifact_dir)
        self._model = model.to(self.context.device).eval()
        if self.multi_label:
            thresholds = read_json(self.artifact_dir, "thresholds.json") or {}
            self._thresholds = torch.tensor([float(thresholds.get(label, 0.5)) for label in self.labels])

    def unload(self) -> None:
        self._model = None
        self._tokenizer = None
        self._thresholds = None

    def classify(self, texts: list[str]) -> list[EmotionReading]:
        """One reading per text, in input order."""
        probabilities = self.probabilities(texts)
        readings = []
        for row in probabilities:
            scores = {label: round(float(p), 6) for label, p in zip(self.labels, row)}
            readings.append(EmotionReading(label=self._top_label(row), scores=scores, model=self.spec.name))
        return readings

    def predict_labels(self, texts: list[str]) -> list[list[str]]:
        """Every label each text carries: those over their thresholds (multi-label) or the argmax."""
        probabilities = self.probabilities(texts)
        if not self.multi_label:
            return [[self.labels[int(row.argmax())]] for row in probabilities]
        passed = probabilities >= self._thresholds
        return [[label for label, on in zip(self.labels, row) if on] for row in passed]

    def probabilities(self, texts: list[str]) -> Any:
        """A ``len(texts) x len(labels)`` tensor: softmax (single-label) or sigmoid (multi-label) scores."""
        self.load()
        import torch

        if not texts:
            return torch.empty(0, len(self.labels))
        ids = self._tokenizer(list(texts), truncation=True, max_length=self.max_length)["input_ids"]
        # Longest first, so each batch pads to texts of about its own length.
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]), reverse=True)
        result = torch.empty(len(ids), len(self.labels))
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                rows = order[start : start + self.batch_size]
                batch = self._tokenizer.pad({"input_ids": [ids[i] for i in rows]}, return_tensors="pt")
                logits = self._model(**batch.to(self.context.device)).logits.float().cpu()
                result[rows] = torch.sigmoid(logits) if self.multi_label else torch.softmax(logits, dim=-1)
        return result

    def _top_label(self, row: Any) -> str:
        if self.multi_label:
            over = row >= self._thresholds
            if bool(over.any()):
                return self.labels[int(row.masked_fill(~over, -1.0).argmax())]
        return self.labels[int(row.argmax())]
