"""One request at a time through transformers' ``generate``, greedy: what the engines must equal
token for token (tests) and beat (benchmarks)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch


def greedy_generate(model: Any, ids: list[int], max_new_tokens: int, stop_ids: Iterable[int]) -> list[int]:
    """The reply's token ids (the stop token included, if one was reached)."""
    stops = sorted(stop_ids)
    input_ids = torch.tensor([ids])
    with torch.inference_mode():
        output = model.generate(
            input_ids,
            attention_mask=torch.ones_like(input_ids),
            do_sample=False,
            max_new_tokens=max_new_tokens,
            eos_token_id=stops,
            pad_token_id=stops[0],
        )
    return output[0, len(ids) :].tolist()
