"""Per-request next-token choice: greedy, or temperature / top-k / top-p sampling with its own seed."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.7  # 0 means greedy
    top_p: float = 1.0
    top_k: int = 0  # 0 means no top-k cut
    max_new_tokens: int = 256
    seed: int | None = None
    suppressed_ids: tuple[int, ...] = ()  # never chosen (e.g. style tokens that only condition a reply)

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError("temperature must be >= 0")
        if not 0 < self.top_p <= 1:
            raise ValueError("top_p must be in (0, 1]")
        if self.top_k < 0:
            raise ValueError("top_k must be >= 0")
        if self.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be >= 1")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


def new_generator(params: SamplingParams, device: str | torch.device) -> torch.Generator | None:
    """A private random stream per request, so one request's seed never depends on its batch mates."""
    if params.greedy:
        return None
    generator = torch.Generator(device=device)
    if params.seed is None:
        generator.seed()
    else:
        generator.manual_seed(params.seed)
    return generator


def choose_next_token(logits: torch.Tensor, params: SamplingParams, generator: torch.Generator | None) -> int:
    """Pick the next token from one row of float logits of shape (vocab,)."""
    if params.suppressed_ids:
        logits = logits.index_fill(0, torch.tensor(params.suppressed_ids, device=logits.device), float("-inf"))
    if params.greedy:
        return int(torch.argmax(logits))
    scores = logits / params.temperature
    if 0 < params.top_k < scores.numel():
        kth_best = torch.topk(scores, params.top_k).values[-1]
        scores = scores.masked_fill(scores < kth_best, float("-inf"))
    if params.top_p < 1.0:
        sorted_scores, order = torch.sort(scores, descending=True)
        sorted_probs = torch.softmax(sorted_scores, dim=-1)
        # Drop a token when the tokens ranked above it already cover top_p; the best one always stays.
        outside_nucleus = torch.cumsum(sorted_probs, dim=-1) - sorted_probs > params.top_p
        sorted_scores = sorted_scores.masked_fill(outside_nucleus, float("-inf"))
        scores = torch.empty_like(scores).scatter_(0, order, sorted_scores)
    probs = torch.softmax(scores, dim=-1)
    return int(torch.multinomial(probs, num_samples=1, generator=generator))
