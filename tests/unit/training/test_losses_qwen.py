import pytest
import torch

from training.losses.qwen import (
    IGNORE_INDEX,
    LossWeights,
    emotion_loss,
    kl_to_reference,
    multi_objective,
    strategy_loss,
)


def test_kl_is_zero_against_itself_and_positive_against_another_model():
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 11)
    mask = torch.ones(2, 5, dtype=torch.bool)
    assert kl_to_reference(logits, logits.clone(), mask).item() == pytest.approx(0.0, abs=1e-6)
    assert kl_to_reference(logits, torch.randn(2, 5, 11), mask).item() > 0.01


def test_kl_only_counts_masked_positions():
    torch.manual_seed(0)
    logits, reference = torch.randn(1, 4, 7), torch.randn(1, 4, 7)
    mask = torch.tensor([[True, True, False, False]])
    changed = reference.clone()
    changed[:, 2:] = torch.randn(1, 2, 7)
    assert kl_to_reference(logits, reference, mask) == pytest.approx(kl_to_reference(logits, changed, mask).item())


def test_head_losses_skip_ignored_rows_and_are_zero_without_labels():
    logits = torch.tensor([[4.0, 0.0], [0.0, 4.0]], requires_grad=True)
    right = emotion_loss(logits, torch.tensor([0, IGNORE_INDEX]))
    wrong = emotion_loss(logits, torch.tensor([1, IGNORE_INDEX]))
    assert right.item() < 0.1 < wrong.item()
    none = strategy_loss(logits, torch.tensor([IGNORE_INDEX, IGNORE_INDEX]))
    assert none.item() == 0.0
    none.backward()  # still part of the graph, so a batch without labels trains nothing but breaks nothing
    assert torch.count_nonzero(logits.grad) == 0


def test_weights_are_respected():
    lm, emo, strat, kl = (torch.tensor(v) for v in (2.0, 3.0, 5.0, 7.0))
    assert multi_objective(lm, emo, strat, kl).item() == pytest.approx(2.0 + 0.2 * 3.0 + 0.2 * 5.0)
    weights = LossWeights(lm=0.5, emotion=1.0, strategy=0.0, safety=2.0)
    assert multi_objective(lm, emo, strat, kl, weights).item() == pytest.approx(1.0 + 3.0 + 14.0)


def test_a_zero_weight_removes_that_terms_gradient():
    params = {name: torch.tensor(1.5, requires_grad=True) for name in ("lm", "emo", "strat", "kl")}
    loss = multi_objective(
        params["lm"] ** 2,
        params["emo"] ** 2,
        params["strat"] ** 2,
        params["kl"] ** 2,
        LossWeights(lm=1.0, emotion=0.0, strategy=0.2, safety=0.0),
    )
    loss.backward()
    assert params["lm"].grad.item() == pytest.approx(3.0)
    assert params["strat"].grad.item() == pytest.approx(0.6)
    assert params["emo"].grad is None and params["kl"].grad is None


def test_a_nan_in_a_disabled_term_does_not_poison_the_loss():
    loss = multi_objective(
        torch.tensor(1.0), torch.tensor(float("nan")), torch.tensor(1.0), None, LossWeights(emotion=0.0)
    )
    assert loss.item() == pytest.approx(1.2)


def test_safety_weight_without_reference_logits_is_an_error():
    with pytest.raises(ValueError, match="KL"):
        multi_objective(torch.tensor(1.0), torch.tensor(1.0), torch.tensor(1.0), None, LossWeights(safety=0.1))
