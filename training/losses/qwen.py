"""The qwen-empathetic objective, as pure functions of tensors:

L = λ_LM·NLL + λ_emo·CE(EmotionHead) + λ_strat·CE(StrategyHead) + λ_safe·KL(model ‖ frozen base)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100


@dataclass(frozen=True)
class LossWeights:
    lm: float = 1.0
    emotion: float = 0.2
    strategy: float = 0.2
    safety: float = 0.0


def kl_to_reference(logits: torch.Tensor, ref_logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over the ``mask``ed positions of KL(softmax(logits) ‖ softmax(ref_logits)), in float32.

    ``logits``/``ref_logits`` are (batch, seq, vocab); ``mask`` is (batch, seq), true where the
    reply is scored. The reference carries no gradient.
    """
    log_p = F.log_softmax(logits.float(), dim=-1)
    log_q = F.log_softmax(ref_logits.detach().float(), dim=-1)
    per_token = (log_p.exp() * (log_p - log_q)).sum(dim=-1)
    weights = mask.to(per_token.dtype)
    return (per_token * weights).sum() / weights.sum().clamp(min=1.0)


def head_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the rows whose label is not ``IGNORE_INDEX``; an exact, graph-connected 0 if none are."""
    scored = labels != IGNORE_INDEX
    if not bool(scored.any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits[scored].float(), labels[scored])


def emotion_loss(emotion_logits: torch.Tensor, emotion_labels: torch.Tensor) -> torch.Tensor:
    """CE of the EmotionHead (the 32 EmpatheticDialogues emotions)."""
    return head_cross_entropy(emotion_logits, emotion_labels)


def strategy_loss(strategy_logits: torch.Tensor, strategy_labels: torch.Tensor) -> torch.Tensor:
    """CE of the StrategyHead (the 8 ESConv strategies)."""
    return head_cross_entropy(strategy_logits, strategy_labels)


def multi_objective(
    lm: torch.Tensor,
    emo: torch.Tensor,
    strat: torch.Tensor,
    kl: torch.Tensor | None,
    weights: LossWeights = LossWeights(),
) -> torch.Tensor:
    """The weighted sum. A term with weight 0 is left out entirely, so it adds no gradient (nor a NaN)."""
    if kl is None and weights.safety != 0.0:
        raise ValueError("λ_safe > 0 needs the KL term (reference logits from the frozen base)")
    terms = [(weights.lm, lm), (weights.emotion, emo), (weights.strategy, strat), (weights.safety, kl)]
    active = [weight * term for weight, term in terms if weight != 0.0]
    if not active:
        raise ValueError("every loss weight is zero")
    return torch.stack([term.float() for term in active]).sum()
