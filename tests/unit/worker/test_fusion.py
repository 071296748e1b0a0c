"""The fusion rules: agreeing modalities raise confidence, disagreeing ones are reported, an unread photo leaves the text."""

from __future__ import annotations

import pytest

from attune.contract import EmotionReading
from worker.fusion import FACE_LABELS, TEXT_WEIGHT, fold_text, fuse, text_reading


def _face(label: str, p: float) -> EmotionReading:
    rest = (1 - p) / (len(FACE_LABELS) - 1)
    return EmotionReading(
        label=label, scores={name: p if name == label else rest for name in FACE_LABELS}, model="face"
    )


def _text(scores: dict[str, float]) -> EmotionReading:
    return EmotionReading(label=max(scores, key=scores.get), scores=scores, model="text-emotion")


def test_goemotions_labels_fold_onto_the_face_classes_by_their_ekman_group():
    # each class takes its best text label: twelve labels name "happy", and they must not add up
    folded = fold_text({"gratitude": 0.3, "joy": 0.4, "grief": 0.2, "curiosity": 0.1, "neutral": 0.1})
    assert folded["happy"] == pytest.approx(0.4 / 0.8)
    assert folded["sad"] == pytest.approx(0.2 / 0.8)
    assert folded["surprise"] == pytest.approx(0.1 / 0.8)
    assert sum(folded.values()) == pytest.approx(1.0)
    # the journal moods fold too; labels that name no face class are ignored
    assert fold_text({"love": 0.5, "sadness": 0.5})["happy"] == pytest.approx(0.5)
    assert fold_text({"nostalgic": 1.0}) == {}


def test_agreeing_modalities_raise_the_confidence_above_either_reading():
    text = _text({"joy": 0.6, "sadness": 0.4})
    face = _face("happy", 0.7)
    fused = fuse(text, face)
    assert fused.label == "happy"
    assert fused.fusion.source == "fused_aligned"
    assert fused.fusion.confidence == pytest.approx(1 - 0.4 * 0.3)
    assert fused.fusion.confidence > max(0.6, 0.7)
    assert fused.fusion.text == text and fused.fusion.face == face
    assert set(fused.scores) == set(FACE_LABELS)
    assert sum(fused.scores.values()) == pytest.approx(1.0, abs=1e-5)
    assert fused.model == "text-emotion+face"


def test_disagreeing_modalities_are_reported_with_both_readings():
    text = _text({"anger": 0.9, "joy": 0.1})
    face = _face("happy", 0.8)
    fused = fuse(text, face)
    assert fused.fusion.source == "fused_conflict"
    # the text weighs more: 0.6*0.9 = 0.54 for angry against 0.6*0.1 + 0.4*0.8 = 0.38 for happy
    assert fused.label == "angry"
    assert fused.fusion.confidence == pytest.approx(TEXT_WEIGHT * 0.9 + (1 - TEXT_WEIGHT) * 0.2 / 6, abs=1e-5)
    assert fused.fusion.confidence < 0.9
    assert fused.fusion.text.label == "anger" and fused.fusion.face.label == "happy"


def test_a_strong_face_can_outweigh_a_hesitant_text_but_the_conflict_is_still_reported():
    fused = fuse(_text({"sadness": 0.4, "joy": 0.35, "neutral": 0.25}), _face("happy", 0.95))
    assert fused.fusion.source == "fused_conflict"
    assert fused.label == "happy"


def test_agreement_is_the_texts_own_label_against_the_face_not_a_crowd_of_small_scores():
    # GoEmotions says neutral, though many positive labels score a little: that is not "happy"
    text = _text({"neutral": 0.5, "joy": 0.3, "approval": 0.3, "admiration": 0.3, "gratitude": 0.3})
    fused = fuse(text, _face("happy", 0.95))
    assert fused.fusion.source == "fused_conflict"
    assert fused.fusion.text.label == "neutral" and fused.label == "happy"
    assert fuse(text, _face("neutral", 0.6)).fusion.source == "fused_aligned"


def test_an_unread_photo_leaves_the_text_reading_with_the_reason():
    text = _text({"fear": 0.7, "neutral": 0.3})
    fused = fuse(text, None, "the photo could not be decoded")
    assert fused.fusion.source == "text_only"
    assert (fused.label, fused.scores, fused.model) == (text.label, text.scores, text.model)
    assert fused.fusion.face_error == "the photo could not be decoded"
    assert fused.fusion.confidence == pytest.approx(0.7)
    assert text_reading(fused) == text
    assert text_reading(text) is text and text_reading(None) is None


def test_text_labels_that_do_not_fold_give_text_only():
    fused = fuse(_text({"nostalgic": 1.0}), _face("sad", 0.9))
    assert fused.fusion.source == "text_only"
    assert fused.fusion.face.label == "sad"
    assert "do not match" in fused.fusion.face_error
