"""The user's emotion for a turn with a photo: the text's reading fused with the face's (late fusion).

The text classifier speaks GoEmotions' 28 labels (or the 6 journal moods); the face classifier
FER2013's 7. The text's label names a face class through GoEmotions' own Ekman grouping (the
journal moods by name), and its scores fold onto the 7 classes: each class gets its best-scoring
text label (the best, not the sum: GoEmotions' sigmoids are independent, and summing would let
"happy", which twelve labels name, win every time), normalised. The two are then mixed,
``TEXT_WEIGHT`` to the text:

* ``fused_aligned``: the text's label and the face's name the same class. That class is the label,
  and its confidence rises above either reading's: 1 - (1 - p_text)(1 - p_face), two independent
  witnesses agreeing.
* ``fused_conflict``: they name different classes. The label is the mixture's top class, its
  confidence the mixture's score (never above the stronger reading); both readings are kept so
  the person sees the disagreement.
* ``text_only``: the photo could not be read (no face model here, an undecodable file) or the
  text's labels do not fold onto the face classes. The text's reading is the turn's emotion,
  unchanged, with the reason.

Either way ``fusion`` carries both readings; the crisis check and the reply's alignment use the
text's own reading (``text_reading``), never the fused one.
"""

from __future__ import annotations

from collections.abc import Mapping

from attune.contract import EmotionReading, FusedEmotion

FACE_LABELS = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
TEXT_WEIGHT = 0.6

# Text label -> face class. GoEmotions' Ekman grouping (data/goemotions/ekman_mapping.json), named
# as FER2013 names the classes, plus the journal moods.
_EKMAN = {
    "angry": ("anger", "annoyance", "disapproval"),
    "disgust": ("disgust",),
    "fear": ("fear", "nervousness"),
    "happy": (
        "joy",
        "amusement",
        "approval",
        "excitement",
        "gratitude",
        "love",
        "optimism",
        "relief",
        "pride",
        "admiration",
        "desire",
        "caring",
    ),
    "sad": ("sadness", "disappointment", "embarrassment", "grief", "remorse"),
    "surprise": ("surprise", "realization", "confusion", "curiosity"),
    "neutral": ("neutral",),
}
TEXT_TO_FACE: dict[str, str] = {text: face for face, texts in _EKMAN.items() for text in texts}


def face_class(label: str) -> str | None:
    """The face class a text label names (None: it names none)."""
    label = label.lower()
    return TEXT_TO_FACE.get(label, label if label in FACE_LABELS else None)


def fold_text(scores: Mapping[str, float]) -> dict[str, float]:
    """The text's distribution over the face classes (sums to 1); empty when no label folds."""
    folded = dict.fromkeys(FACE_LABELS, 0.0)
    for label, score in scores.items():
        target = face_class(label)
        if target is not None:
            folded[target] = max(folded[target], float(score))
    return _normalised(folded)


def fuse(text: EmotionReading, face: EmotionReading | None, face_error: str | None = None) -> EmotionReading:
    """The turn's reading: ``text`` and ``face`` fused (see the module's rules)."""
    folded_text = fold_text(text.scores)
    folded_face = (
        _normalised({label: max(0.0, float(face.scores.get(label, 0.0))) for label in FACE_LABELS}) if face else {}
    )
    if face is None or not folded_text or not folded_face:
        reason = face_error if face is None else "the text's emotion labels do not match the face classes"
        return text_only(text, reason, face)
    text_label, face_label = face_class(text.label) or _top(folded_text), _top(folded_face)
    mixed = {
        label: round(TEXT_WEIGHT * folded_text[label] + (1 - TEXT_WEIGHT) * folded_face[label], 6)
        for label in FACE_LABELS
    }
    if text_label == face_label:
        label = text_label
        confidence = 1 - (1 - folded_text[label]) * (1 - folded_face[label])
        source = "fused_aligned"
    else:
        label = _top(mixed)
        confidence = mixed[label]
        source = "fused_conflict"
    fusion = FusedEmotion(source=source, confidence=round(confidence, 6), text=text, face=face)
    return EmotionReading(label=label, scores=mixed, model=_joined(text.model, face.model), fusion=fusion)


def text_only(text: EmotionReading, reason: str | None, face: EmotionReading | None = None) -> EmotionReading:
    confidence = max(text.scores.values(), default=0.0)
    fusion = FusedEmotion(source="text_only", confidence=round(confidence, 6), text=text, face=face, face_error=reason)
    return text.model_copy(update={"fusion": fusion})


def text_reading(reading: EmotionReading | None) -> EmotionReading | None:
    """The text classifier's own reading behind a (possibly fused) one."""
    return reading.fusion.text if reading is not None and reading.fusion is not None else reading


def _normalised(scores: dict[str, float]) -> dict[str, float]:
    total = sum(scores.values())
    return {label: value / total for label, value in scores.items()} if total > 0 else {}


def _top(scores: Mapping[str, float]) -> str:
    return max(FACE_LABELS, key=lambda label: scores.get(label, 0.0))


def _joined(text_model: str | None, face_model: str | None) -> str | None:
    return "+".join(name for name in (text_model, face_model) if name) or None
