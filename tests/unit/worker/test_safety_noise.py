"""The token-noise copies the crisis classifiers also train on (worker/safety/noise.py)."""

from __future__ import annotations

from worker.safety.noise import NOISE_SHARE, noisy_copies


def test_a_seeded_share_of_lines_comes_back_once_each_with_one_token_added() -> None:
    texts = [f"line number {i} of the bank" for i in range(2000)]
    copies = noisy_copies(texts, seed=3)
    assert copies == noisy_copies(texts, seed=3) != noisy_copies(texts, seed=4)
    assert abs(len(copies) / len(texts) - NOISE_SHARE) < 0.04
    indexes = [index for index, _ in copies]
    assert indexes == sorted(set(indexes))
    for index, copy in copies:
        original = texts[index].split()
        added = copy.replace("(", " ").replace(")", " ").split()
        assert len(added) == len(original) + 1 and all(word in added for word in original)
