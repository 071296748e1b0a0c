"""The EmoDecoder objective, as pure functions of tensors:

    L = L_lm + λ_prop·cosine_loss(g_in, g_out) + λ_distil·KL(teacher ‖ student) + λ_sparse·gate_sparsity

Each term is a mean over the positions (or examples) it covers, so the λs weigh terms of
comparable size whatever the batch shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100


@dataclass(frozen=True)
class LossWeights:
    propagation: float = 0.1  # λ_prop: pulls the reply's emotion g_out towards the conditioning g_in
    distillation: float = 0.5  # λ_distil: keeps the student near the frozen base's next-token distribution
    sparsity: float = 0.01  # λ_sparse: pushes the emotional gate towards 0 where it does not help


def lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Next-token cross-entropy: ``logits[:, t]`` predicts ``labels[:, t + 1]``; IGNORE_INDEX labels are skipped."""
    shifted_logits = logits[:, :-1].reshape(-1, logits.size(-1))
    shifted_labels = labels[:, 1:].reshape(-1)
    return F.cross_entropy(shifted_logits.float(), shifted_labels, ignore_index=IGNORE_INDEX)


def cosine_loss(g_in: torch.Tensor, g_out: torch.Tensor) -> torch.Tensor:
    """Mean of ``1 - cos(g_in, g_out)`` over the batch: 0 when aligned, 2 when opposite."""
    return (1.0 - F.cosine_similarity(g_in.float(), g_out.float(), dim=-1)).mean()


def distillation_kl(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, mask: torch.Tensor, temperature: float = 1.0
) -> torch.Tensor:
    """KL(teacher ‖ student) of the temperature-softened distributions, averaged over ``mask`` positions.

    Scaled by ``temperature²`` (Hinton et al.) so its gradients keep their size as the temperature changes.
    """
    student_log_probs = F.log_softmax(student_logits.float() / temperature, dim=-1)
    teacher_log_probs = F.log_softmax(teacher_logits.float() / temperature, dim=-1)
    per_position = (teacher_log_probs.exp() * (teacher_log_probs - student_log_probs)).sum(dim=-1)
    weights = mask.to(per_position.dtype)
    return (per_position * weights).sum() / weights.sum().clamp_min(1.0) * temperature**2


def gate_sparsity(gates: Sequence[torch.Tensor] | torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean gate value (an L1 penalty, the gates being in (0, 1)) over the adapters and ``mask`` positions.

    ``gates`` holds one ``(batch, time, 1)`` tensor per adapter; ``mask`` is ``(batch, time)``.
    """
    stacked = torch.stack(list(gates)) if not isinstance(gates, torch.Tensor) else gates.unsqueeze(0)
    values = stacked.float().squeeze(-1)  # (adapters, batch, time)
    if mask is None:
        return values.mean()
    weights = mask.to(values.dtype).unsqueeze(0).expand_as(values)
    return (values * weights).sum() / weights.sum().clamp_min(1.0)


def total_loss(
    lm: torch.Tensor,
    alignment: torch.Tensor,
    distillation: torch.Tensor | None,
    sparsity: torch.Tensor,
    weights: LossWeights,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The weighted sum and each (unweighted) part as a float, for logging."""
    total = lm + weights.propagation * alignment + weights.sparsity * sparsity
    parts = {"lm_loss": lm.item(), "cosine_loss": alignment.item(), "gate_sparsity": sparsity.item()}
    if distillation is not None:
        total = total + weights.distillation * distillation
        parts["distillation_kl"] = distillation.item()
    parts["loss"] = total.item()
    return total, parts
