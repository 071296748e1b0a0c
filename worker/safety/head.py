"""A small trained classifier over the sentence embedding (the multilingual USE since the seventh freeze): the crisis head.

The nearest-exemplar vote of ``exemplars.py`` only knows the stance of messages close to one it
holds; the head is fitted (``training/recipes/crisis_head.py``) on every labelled message we
have: the exemplar bank, the plain everyday messages and the burned red-team files, with their
hard look-alikes (negation, recovery told as history, gaming, medical self-care, idiom,
fiction), so it learns which directions of the embedding carry the stance and not just the
topic. One hidden layer of ReLU units and a softmax over ``LEVELS``.

Beside it, the combiner: a logistic regression over a dozen named signals (each classifier's
self-risk for the whole message and its riskiest sentence, whether a direct or indirect rule
fired or was framed away, abuse, words of imminence, a safe-dosing question, the emotion's
distress), fitted on held-out predictions so it learns how far to trust each signal instead of
hand-set thresholds. Its named weights are what ``reasons`` reports: the signals that pushed
a message over the line. Both are a committed ``.npz`` of float32 arrays (no pickle) with the
metadata of how they were built.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HEAD_PATH = Path(__file__).with_name("crisis_head.npz")
LEVELS = ("none", "third_party", "ideation", "imminent")


@dataclass(frozen=True)
class CrisisHead:
    hidden_weights: np.ndarray  # (embedding, hidden)
    hidden_bias: np.ndarray
    output_weights: np.ndarray  # (hidden, levels)
    output_bias: np.ndarray
    metadata: dict[str, object]
    combiner_weights: np.ndarray | None = None  # one per name in metadata["combiner_features"]
    combiner_bias: float = 0.0

    @classmethod
    def load(cls, path: Path = HEAD_PATH) -> CrisisHead:
        with np.load(path, allow_pickle=False) as arrays:
            head = cls(
                arrays["hidden_weights"],
                arrays["hidden_bias"],
                arrays["output_weights"],
                arrays["output_bias"],
                json.loads(str(arrays["metadata"])),
                arrays.get("combiner_weights"),
                float(arrays["combiner_bias"]) if "combiner_bias" in arrays else 0.0,
            )
        if tuple(head.metadata.get("levels", ())) != LEVELS:
            raise ValueError(f"{path}: the head's levels {head.metadata.get('levels')} are not {LEVELS}")
        if head.output_weights.shape[1] != len(LEVELS) or head.hidden_weights.shape[1] != head.output_weights.shape[0]:
            raise ValueError(f"{path}: inconsistent layer shapes")
        if head.combiner_weights is not None and len(head.combiner_weights) != len(head.combiner_features):
            raise ValueError(
                f"{path}: {len(head.combiner_weights)} combiner weights for {len(head.combiner_features)} features"
            )
        return head

    def save(self, path: Path) -> None:
        combiner = (
            {}
            if self.combiner_weights is None
            else {
                "combiner_weights": self.combiner_weights.astype(np.float32),
                "combiner_bias": np.array(self.combiner_bias, dtype=np.float32),
            }
        )
        np.savez_compressed(
            path,
            **combiner,
            hidden_weights=self.hidden_weights.astype(np.float32),
            hidden_bias=self.hidden_bias.astype(np.float32),
            output_weights=self.output_weights.astype(np.float32),
            output_bias=self.output_bias.astype(np.float32),
            metadata=np.array(json.dumps(self.metadata, sort_keys=True)),
        )

    @property
    def dimensions(self) -> int:
        return int(self.hidden_weights.shape[0])

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """(n, len(LEVELS)) level probabilities for unit-norm sentence embeddings."""
        hidden = np.maximum(vectors @ self.hidden_weights + self.hidden_bias, 0.0)
        logits = hidden @ self.output_weights + self.output_bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    @property
    def combiner_features(self) -> tuple[str, ...]:
        return tuple(self.metadata.get("combiner_features", ()))  # type: ignore[arg-type]

    @property
    def combiner_threshold(self) -> float:
        return float(self.metadata.get("combiner_threshold", 0.5))  # type: ignore[arg-type]

    def contributions(self, features: dict[str, float]) -> dict[str, float]:
        """Each signal's share of the combiner's logit (weight times value)."""
        assert self.combiner_weights is not None
        return {
            name: float(w) * features[name]
            for name, w in zip(self.combiner_features, self.combiner_weights, strict=True)
        }

    def crisis_probability(self, features: dict[str, float]) -> float:
        logit = sum(self.contributions(features).values()) + self.combiner_bias
        return float(1.0 / (1.0 + np.exp(-logit)))
