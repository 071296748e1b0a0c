"""What decoding with an EmoDecoder measures: the EMA of the reply's emotion and the alignment score.

The decoding itself is the continuous batching ``EmoDecoderEngine`` (``worker.engine.emodecoder``):
it prefills each prompt once, then feeds every running reply one token per step through the KV
caches of the frozen blocks and of the adapters, updating each reply's ``EmotionEMA`` and its
``emo_alignment_score`` as it goes. Training's validation scores whole replies the same way
(cos(g_in, g_out), ``training/recipes/emodecoder.py``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class EmotionEMA:
    """Exponential moving average of the per-token output emotion: ``m ← α·x + (1 − α)·m``.

    The streaming counterpart of the mean pooling that gives ``g_out`` in training; a larger
    ``alpha`` follows the latest tokens more closely.
    """

    def __init__(self, alpha: float) -> None:
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"ema_alpha must be in (0, 1], got {alpha}")
        self.alpha = alpha
        self.value: torch.Tensor | None = None

    def update(self, signal: torch.Tensor) -> torch.Tensor:
        self.value = signal.clone() if self.value is None else self.alpha * signal + (1 - self.alpha) * self.value
        return self.value


def emo_alignment_score(g_in: torch.Tensor, g_out: torch.Tensor) -> float:
    """cos(g_in, g_out) of one example, in [-1, 1]."""
    return float(F.cosine_similarity(g_in.float().flatten(), g_out.float().flatten(), dim=0).clamp(-1.0, 1.0))
