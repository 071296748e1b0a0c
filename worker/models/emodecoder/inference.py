"""Decoding with an EmoDecoder: masks, top-k sampling, the EMA of the reply's emotion, the alignment score.

``generate`` prefills the prompt once, then feeds one token per step through the KV caches
of the frozen blocks and of the adapters, so a step costs one position, not the whole sequence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

if TYPE_CHECKING:
    from worker.engine.sampling import SamplingParams
    from worker.models.emodecoder.architecture import EmoDecoder


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


@dataclass(frozen=True)
class DecodedToken:
    token_id: int
    alignment: float  # cos(g_in, EMA of the reply's emotion) after this token


@torch.inference_mode()
def generate(
    model: EmoDecoder,
    prompt_ids: list[int],
    emotion_id: int,
    *,
    params: SamplingParams,
    ema_alpha: float,
    stop_ids: set[int],
    reply_prefix_ids: Sequence[int] = (),
    generator: torch.Generator | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> Iterator[DecodedToken]:
    """Yield reply tokens one by one until a stop token, ``params.max_new_tokens`` or ``should_stop()``.

    ``reply_prefix_ids`` is reply text already given (a resumed job): it is prefilled with the
    prompt and counts towards the emotion average, but is not yielded again; the caller puts it
    in ``params.said_before`` with the earlier replies. A stop token ends the reply without being
    yielded. ``should_stop`` is checked before every step. Sampling is the engine's
    (``worker.engine.sampling``), with the request's resolved settings as they are: temperature,
    top-k, top-p and the row rules (repetition, no-repeat n-grams, end of turn, minimum length).
    """
    from worker.engine.sampling import RepetitionGuard, choose_next_token

    guard = RepetitionGuard.for_params(params, frozenset(stop_ids))
    device = model.device
    input_ids = torch.tensor([[*prompt_ids, *reply_prefix_ids]], dtype=torch.long, device=device)
    padding = torch.ones_like(input_ids)
    prompt_mask = torch.arange(input_ids.size(1), device=device).unsqueeze(0) < len(prompt_ids)
    g_in = model.condition(input_ids, prompt_mask, torch.tensor([emotion_id], device=device))
    state = model.new_decode_state()
    ema = EmotionEMA(ema_alpha)
    output = model(input_ids, padding, g_in, state=state)
    for position in range(len(prompt_ids), input_ids.size(1)):
        ema.update(output.token_emotion[0, position])
    for _ in range(params.max_new_tokens):
        if should_stop():
            return
        token_id = choose_next_token(output.logits[0, -1].float(), params, generator, guard)
        if token_id in stop_ids:
            return
        if guard is not None:
            guard.observe(token_id)
        token = torch.tensor([[token_id]], dtype=torch.long, device=device)
        output = model(token, torch.ones(1, 1, dtype=torch.long, device=device), g_in, state=state)
        # The emotion read at the new token's position is the reply's emotion so far including it.
        smoothed = ema.update(output.token_emotion[0, -1])
        yield DecodedToken(token_id=token_id, alignment=emo_alignment_score(g_in[0], smoothed))
