"""The running batch's shared KV cache: left-padded rows that can join and leave between steps.

Layout: every layer holds keys/values of shape (batch, kv_heads, columns, head_dim). Row i's
real tokens are right-aligned; the columns to their left are padding, hidden by
``attention_mask`` (batch, columns). Rotary positions were applied when each token was
computed, so padding never shifts a sequence's positions: the decode step passes each row's
true position explicitly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer


def _left_pad(tensor: torch.Tensor, columns: int, dim: int) -> torch.Tensor:
    if columns == 0:
        return tensor
    shape = list(tensor.shape)
    shape[dim] = columns
    return torch.cat([tensor.new_zeros(shape), tensor], dim=dim)


def _full_attention_layers(cache: DynamicCache) -> list[DynamicLayer]:
    layers = list(cache.layers)
    for layer in layers:
        # Sliding-window layers drop old columns themselves, which would break the row alignment.
        if type(layer) is not DynamicLayer:
            raise ValueError(f"continuous batching supports full-attention caches only, got {type(layer).__name__}")
    return layers


class KVBatch:
    def __init__(self) -> None:
        self.cache: DynamicCache | None = None
        self.attention_mask: torch.Tensor | None = None

    @property
    def rows(self) -> int:
        return 0 if self.attention_mask is None else self.attention_mask.shape[0]

    @property
    def columns(self) -> int:
        return 0 if self.attention_mask is None else self.attention_mask.shape[1]

    def append_row(self, cache: DynamicCache, length: int) -> None:
        """Add one freshly prefilled sequence (a batch-1 cache of ``length`` tokens) as the last row."""
        new_mask = torch.ones((1, length), dtype=torch.long, device=cache.layers[0].keys.device)
        if self.cache is None:
            _full_attention_layers(cache)
            self.cache, self.attention_mask = cache, new_mask
            return
        width = max(self.columns, length)
        grow_batch, grow_new = width - self.columns, width - length
        for mine, theirs in zip(_full_attention_layers(self.cache), _full_attention_layers(cache), strict=True):
            mine.keys = torch.cat([_left_pad(mine.keys, grow_batch, -2), _left_pad(theirs.keys, grow_new, -2)])
            mine.values = torch.cat([_left_pad(mine.values, grow_batch, -2), _left_pad(theirs.values, grow_new, -2)])
        self.attention_mask = torch.cat(
            [_left_pad(self.attention_mask, grow_batch, 1), _left_pad(new_mask, grow_new, 1)]
        )

    def extend_mask(self) -> torch.Tensor:
        """Account for the one token every row is about to feed; returns the mask for that forward pass."""
        assert self.attention_mask is not None
        self.attention_mask = F.pad(self.attention_mask, (0, 1), value=1)
        return self.attention_mask

    def keep_rows(self, rows: list[int]) -> None:
        """Drop every row not listed, then the leading columns that only padding still uses."""
        if not rows:
            self.cache = self.attention_mask = None
            return
        assert self.cache is not None and self.attention_mask is not None
        if rows == list(range(self.rows)):
            return
        index = torch.tensor(rows, device=self.attention_mask.device)
        mask = self.attention_mask.index_select(0, index)
        first_used = int(mask.any(dim=0).to(torch.int8).argmax())
        for layer in _full_attention_layers(self.cache):
            layer.keys = layer.keys.index_select(0, index)[..., first_used:, :]
            layer.values = layer.values.index_select(0, index)[..., first_used:, :]
        self.attention_mask = mask[:, first_used:]
