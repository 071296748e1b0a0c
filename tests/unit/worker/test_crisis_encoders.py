"""The crisis detector's sentence encoders (worker/safety/exemplars.py): the multilingual one puts a
Spanish crisis message beside its English meaning, and the pair keeps both encoders' geometry."""

from __future__ import annotations

import numpy as np
import pytest

from worker.safety.exemplars import MultilingualEncoder, PairedEncoder, default_matcher, load_encoder
from worker.safety.head import HEAD_PATH, CrisisHead


class _Fixed:
    def __init__(self, vectors: dict[str, list[float]]) -> None:
        self.vectors = {text: np.array(v, dtype=np.float32) / np.linalg.norm(v) for text, v in vectors.items()}

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.vectors[text] for text in texts])


def test_a_paired_vector_is_unit_length_and_its_dot_product_is_the_mean_of_the_cosines() -> None:
    first = _Fixed({"a": [1, 0], "b": [0.6, 0.8]})
    second = _Fixed({"a": [1, 0, 0], "b": [0, 0, 1]})
    a, b = PairedEncoder([first, second]).encode(["a", "b"])
    assert np.linalg.norm(a) == pytest.approx(1.0) and np.linalg.norm(b) == pytest.approx(1.0)
    assert float(a @ b) == pytest.approx((0.6 + 0.0) / 2)


def test_an_unknown_encoder_name_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="minilm, use-m3"):
        load_encoder("minilm+labse")


def test_the_multilingual_encoder_puts_a_spanish_crisis_beside_its_english_meaning() -> None:
    encoder = MultilingualEncoder()
    english, spanish, cooking, idiom = encoder.encode(
        ["I cut myself again last night", "anoche me volví a cortar", "me corté cocinando anoche", "tengo hambre"]
    )
    assert float(english @ spanish) > float(english @ cooking) > float(english @ idiom)
    assert np.linalg.norm(english) == pytest.approx(1.0, abs=1e-4)


def test_the_committed_head_reads_the_embedding_the_worker_builds() -> None:
    head = CrisisHead.load(HEAD_PATH)
    vectors = load_encoder(str(head.metadata["encoder"])).encode(["I want to die", "me quiero morir"])
    assert vectors.shape == (2, head.dimensions)


def test_a_head_trained_on_other_encoders_is_refused() -> None:
    head = CrisisHead.load(HEAD_PATH)
    other = "minilm" if head.metadata["encoder"] != "minilm" else "use-m3"
    with pytest.raises(ValueError, match="trained on"):
        default_matcher.__wrapped__(encoder=other)
