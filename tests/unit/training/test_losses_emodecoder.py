import pytest
import torch
import torch.nn.functional as F

from training.losses.emodecoder import (
    IGNORE_INDEX,
    LossWeights,
    cosine_loss,
    distillation_kl,
    gate_sparsity,
    lm_loss,
    total_loss,
)


def test_lm_loss_scores_only_labelled_next_tokens():
    logits = torch.randn(1, 4, 10)
    labels = torch.tensor([[IGNORE_INDEX, IGNORE_INDEX, 3, 7]])

    expected = F.cross_entropy(logits[0, 1:3], torch.tensor([3, 7]))

    assert lm_loss(logits, labels).item() == pytest.approx(expected.item(), rel=1e-6)


def test_kl_of_a_distribution_with_itself_is_zero_and_positive_otherwise():
    logits = torch.randn(2, 5, 50)
    mask = torch.ones(2, 5, dtype=torch.bool)

    assert distillation_kl(logits, logits, mask, temperature=2.0).item() == pytest.approx(0.0, abs=1e-6)
    assert distillation_kl(logits, torch.randn(2, 5, 50), mask, temperature=2.0).item() > 0.01


def test_kl_ignores_masked_positions():
    student = torch.randn(1, 3, 20)
    teacher = student.clone()
    teacher[0, 2] = torch.randn(20) * 5  # differs only where the mask is off
    mask = torch.tensor([[True, True, False]])

    assert distillation_kl(student, teacher, mask).item() == pytest.approx(0.0, abs=1e-6)


def test_cosine_loss_is_zero_when_aligned_two_when_opposite_and_bounded():
    g = torch.randn(4, 8)

    assert cosine_loss(g, 3 * g).item() == pytest.approx(0.0, abs=1e-6)
    assert cosine_loss(g, -g).item() == pytest.approx(2.0, abs=1e-6)
    random_loss = cosine_loss(torch.randn(64, 8), torch.randn(64, 8)).item()
    assert 0.0 <= random_loss <= 2.0


def test_gate_sparsity_gradient_pushes_gates_down():
    gate_logits = torch.randn(2, 6, 1, requires_grad=True)
    gates = torch.sigmoid(gate_logits)

    gate_sparsity([gates, gates * 0.5]).backward()

    assert (gate_logits.grad > 0).all()  # gradient descent lowers every gate
    with torch.no_grad():
        lowered = torch.sigmoid(gate_logits - 0.1 * gate_logits.grad)
    assert (lowered < gates).all()


def test_gate_sparsity_averages_over_masked_positions_only():
    gates = torch.tensor([[[0.2], [0.9]]])

    assert gate_sparsity([gates], torch.tensor([[True, False]])).item() == pytest.approx(0.2)


def test_total_loss_weighs_each_part_by_its_lambda():
    weights = LossWeights(propagation=0.1, distillation=0.5, sparsity=0.01)
    lm, alignment, distillation, sparsity = (torch.tensor(v) for v in (2.0, 0.8, 0.4, 0.3))

    total, parts = total_loss(lm, alignment, distillation, sparsity, weights)

    assert total.item() == pytest.approx(2.0 + 0.1 * 0.8 + 0.5 * 0.4 + 0.01 * 0.3)
    assert parts == pytest.approx(
        {"lm_loss": 2.0, "cosine_loss": 0.8, "distillation_kl": 0.4, "gate_sparsity": 0.3, "loss": total.item()}
    )
    without_teacher, parts = total_loss(lm, alignment, None, sparsity, weights)
    assert without_teacher.item() == pytest.approx(2.0 + 0.1 * 0.8 + 0.01 * 0.3)
    assert "distillation_kl" not in parts
