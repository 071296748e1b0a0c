"""Mean pooling over the positions a mask selects: the one copy the heads, the classifiers and the EmoDecoder use."""

from __future__ import annotations

import torch


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``(batch, time, dim)`` values over the positions where ``mask`` (batch, time) is true.

    In ``values``' dtype (pass ``values.float()`` for a float32 mean); a row with nothing selected gives zeros.
    """
    weights = mask.to(values.dtype).unsqueeze(-1)
    return (values * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)
