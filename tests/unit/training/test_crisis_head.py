"""The crisis head (training/recipes/crisis_head.py): deterministic, and the committed one is current."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.recipes.crisis_head import CachedEncoder, Config, digest, fit_combiner, fit_head, training_set
from worker.safety.exemplars import LEVELS
from worker.safety.head import HEAD_PATH, CrisisHead
from worker.safety.risk import COMBINER_FEATURES


def _toy(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(LEVELS), 16))
    labels = np.repeat(np.arange(len(LEVELS)), 30)
    vectors = centres[labels] + 0.5 * rng.normal(size=(len(labels), 16))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32), labels, np.where(labels == 1, 3.0, 1.0)


def test_fitting_the_head_twice_gives_the_same_weights() -> None:
    vectors, labels, weights = _toy()
    config = Config(hidden=8, max_iter=60)
    first, second = (fit_head(vectors, labels, weights, config) for _ in range(2))
    for name in ("hidden_weights", "hidden_bias", "output_weights", "output_bias"):
        assert np.array_equal(getattr(first, name), getattr(second, name)), name
    assert (first.probabilities(vectors).argmax(axis=1) == labels).mean() > 0.9


def test_fitting_the_combiner_twice_gives_the_same_weights() -> None:
    rng = np.random.default_rng(1)
    features = rng.uniform(size=(200, len(COMBINER_FEATURES)))
    crisis = features[:, 0] + 0.2 * rng.normal(size=200) > 0.5
    first, second = fit_combiner(features, crisis, Config()), fit_combiner(features, crisis, Config())
    assert np.array_equal(first[0], second[0]) and first[1:] == second[1:]


def test_a_head_survives_saving_and_loading(tmp_path: Path) -> None:
    vectors, labels, weights = _toy()
    head = fit_head(vectors, labels, weights, Config(hidden=8, max_iter=20))
    head = CrisisHead(
        head.hidden_weights,
        head.hidden_bias,
        head.output_weights,
        head.output_bias,
        {**head.metadata, "combiner_features": list(COMBINER_FEATURES)},
        np.ones(len(COMBINER_FEATURES), dtype=np.float32),
        -1.0,
    )
    head.save(tmp_path / "head.npz")
    loaded = CrisisHead.load(tmp_path / "head.npz")
    assert np.array_equal(loaded.probabilities(vectors), head.probabilities(vectors))
    assert loaded.combiner_bias == -1.0 and loaded.combiner_features == COMBINER_FEATURES


def test_the_committed_head_was_built_from_the_current_data() -> None:
    """Changing the bank, the everyday messages or a red-team file means rebuilding the head
    (``attune train crisis-head``): the artifact records what it was trained on."""
    head = CrisisHead.load(HEAD_PATH)
    assert head.metadata["training_sha256"] == digest(*training_set(Config()))
    assert head.combiner_features == COMBINER_FEATURES
    assert HEAD_PATH.stat().st_size < 1_000_000


@pytest.mark.slow
@pytest.mark.timeout(900)  # a clean CI machine has no embedding cache: the encoders read 8,600 texts
def test_refitting_the_head_gives_the_committed_one() -> None:
    """The head's fit on the recipe's data and settings (the whole recipe, ``attune train
    crisis-head``, also fits six fold heads and the combiner: 12+ minutes on two cores, too long
    for every CI run). On the machine that built it the refit is byte-identical; on another CPU the
    encoders' float rounding, amplified by L-BFGS, moves the weights, so what is compared is what
    the head does with them: the level it gives every training text."""
    committed = CrisisHead.load(HEAD_PATH)
    recorded = committed.metadata["config"]
    config = Config(**{**recorded, "redteam_files": tuple(recorded["redteam_files"])})
    exemplars, weights = training_set(config)
    assert digest(exemplars, weights) == committed.metadata["training_sha256"]
    vectors = CachedEncoder(config.encoder).encode([e.text for e in exemplars])
    labels = np.array([LEVELS.index(e.level) for e in exemplars])
    refit = fit_head(vectors, labels, weights, config)
    ours, theirs = refit.probabilities(vectors), committed.probabilities(vectors)
    assert (ours.argmax(axis=1) == theirs.argmax(axis=1)).mean() > 0.995
    assert np.abs(ours - theirs).mean() < 0.01
