"""From the labels our classifiers give (GoEmotions' 28, the 6 journal moods, FER2013's 7) to EmpatheticDialogues' 32.

The retrieval responder boosts index replies whose conversation emotion matches what the
user feels. A classifier label maps to the ED emotions it names directly (full weight);
every other ED emotion of the same family counts as related (half weight), so "grief" lifts
"devastated" and "sad" most and "lonely" or "disappointed" a little.
"""

from __future__ import annotations

from collections.abc import Mapping

ED_EMOTIONS = (
    "afraid",
    "angry",
    "annoyed",
    "anticipating",
    "anxious",
    "apprehensive",
    "ashamed",
    "caring",
    "confident",
    "content",
    "devastated",
    "disappointed",
    "disgusted",
    "embarrassed",
    "excited",
    "faithful",
    "furious",
    "grateful",
    "guilty",
    "hopeful",
    "impressed",
    "jealous",
    "joyful",
    "lonely",
    "nostalgic",
    "prepared",
    "proud",
    "sad",
    "sentimental",
    "surprised",
    "terrified",
    "trusting",
)

# Families of ED emotions that a listener answers in a similar register.
FAMILIES: dict[str, tuple[str, ...]] = {
    "sadness": ("sad", "devastated", "lonely", "disappointed", "nostalgic", "sentimental"),
    "fear": ("afraid", "terrified", "anxious", "apprehensive"),
    "anger": ("angry", "furious", "annoyed", "jealous", "disgusted"),
    "shame": ("ashamed", "embarrassed", "guilty"),
    "joy": ("joyful", "excited", "content", "grateful", "proud", "impressed", "hopeful", "anticipating"),
    "trust": ("trusting", "faithful", "confident", "prepared", "caring"),
    "surprise": ("surprised", "impressed", "excited"),
}

# Classifier label -> the ED emotions it names. ``neutral`` names none: no boost at all.
DIRECT: dict[str, tuple[str, ...]] = {
    # GoEmotions (27 + neutral)
    "admiration": ("impressed", "proud"),
    "amusement": ("joyful", "excited"),
    "anger": ("angry", "furious"),
    "annoyance": ("annoyed",),
    "approval": ("content", "confident"),
    "caring": ("caring",),
    "confusion": ("apprehensive", "surprised"),
    "curiosity": ("anticipating",),
    "desire": ("jealous", "anticipating", "hopeful"),
    "disappointment": ("disappointed",),
    "disapproval": ("annoyed", "disgusted"),
    "disgust": ("disgusted",),
    "embarrassment": ("embarrassed", "ashamed"),
    "excitement": ("excited", "anticipating"),
    "fear": ("afraid", "terrified"),
    "gratitude": ("grateful",),
    "grief": ("devastated", "sad"),
    "joy": ("joyful", "content"),
    "love": ("caring", "sentimental"),
    "nervousness": ("anxious", "apprehensive"),
    "optimism": ("hopeful", "confident"),
    "pride": ("proud",),
    "realization": ("surprised",),
    "relief": ("content", "grateful"),
    "remorse": ("guilty", "ashamed"),
    "sadness": ("sad", "lonely"),
    "surprise": ("surprised",),
    "neutral": (),
    # FER2013's face classes (a fused text + face reading, worker/fusion.py): "angry" and "sad" are
    # ED's own, disgust / fear / surprise / neutral are above
    "happy": ("joyful", "content"),
    # the 6 journal moods (sadness, joy, love, anger, fear, surprise) are covered above;
    # ED's own labels map to themselves so an ED-trained classifier plugs in unchanged
    **{emotion: (emotion,) for emotion in ED_EMOTIONS},
}

RELATED_WEIGHT = 0.5


def related(emotion: str) -> set[str]:
    """ED emotions that share a family with ``emotion`` (itself excluded)."""
    return {other for family in FAMILIES.values() if emotion in family for other in family} - {emotion}


def affinity(scores: Mapping[str, float]) -> dict[str, float]:
    """How well each ED emotion fits a classifier's distribution, scaled so the best fit is 1.

    Unknown labels are ignored; a distribution that names nothing mappable gives all zeros.
    """
    weights = dict.fromkeys(ED_EMOTIONS, 0.0)
    for label, score in scores.items():
        for target in DIRECT.get(label.lower(), ()):
            weights[target] = max(weights[target], score)
            for neighbour in related(target):
                weights[neighbour] = max(weights[neighbour], RELATED_WEIGHT * score)
    top = max(weights.values())
    return {emotion: weight / top for emotion, weight in weights.items()} if top > 0 else weights
