"""The safety layer: never leave a person in crisis alone, never send a harmful reply.

The worker calls it twice per chat turn::

    safety = SafetyFilter()
    verdict = safety.check_user(user_text, emotion=user_emotion, locale=locale)
    if verdict.crisis:
        text, resources = safety.crisis_reply(locale)   # fixed text, never generated
    else:
        reply = ...generate...
        reply_verdict = safety.check_reply(reply)
        if reply_verdict.crisis:                        # the reply encouraged self-harm
            text, resources = safety.crisis_reply(locale)
        elif reply_verdict.toxic:
            text = safety.fallback_reply(locale)

Everything here is pure Python over precompiled regular expressions: a check takes a
fraction of a millisecond and imports nothing heavy.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from attune.contract import EmotionReading, SafetyVerdict
from worker.safety.crisis import assess_crisis
from worker.safety.normalize import normalize
from worker.safety.resources import DEFAULT_LANGUAGE, RESOURCES_PATH, CrisisResources, ResourcesError
from worker.safety.toxicity import SELF_HARM, LexiconToxicity, ScoredToxicity, ToxicityDetector

__all__ = ["LexiconToxicity", "ResourcesError", "SafetyFilter", "ScoredToxicity", "ToxicityDetector"]

_SELF_HARM_PREFIX = f"toxic:{SELF_HARM}:"


class SafetyFilter:
    def __init__(
        self,
        resources_path: str | Path | None = None,
        toxicity: Sequence[ToxicityDetector] | None = None,
    ) -> None:
        """``toxicity``: detectors consulted in order, all of them (default: the lexicon rules).
        A trained model goes next to the lexicon, not instead of it: the lexicon is what
        catches replies that encourage self-harm."""
        self.resources = CrisisResources.load(Path(resources_path) if resources_path else RESOURCES_PATH)
        self.toxicity: tuple[ToxicityDetector, ...] = tuple(toxicity) if toxicity is not None else (LexiconToxicity(),)

    def check_user(
        self, text: str, emotion: EmotionReading | None = None, *, locale: str = DEFAULT_LANGUAGE
    ) -> SafetyVerdict:
        """Crisis language in the user's message (the emotion only strengthens borderline
        phrasings), and abuse aimed at someone. A crisis verdict carries the locale's lines."""
        crisis = assess_crisis(text, normalize(text), emotion)
        toxic_reasons = self._toxicity(text, reply=False)
        reasons = list(crisis.reasons) if crisis.crisis else []
        return SafetyVerdict(
            crisis=crisis.crisis,
            toxic=bool(toxic_reasons),
            reasons=reasons + toxic_reasons,
            resources=self.resources.lines_for(locale) if crisis.crisis else [],
        )

    def check_reply(self, text: str, *, locale: str = DEFAULT_LANGUAGE) -> SafetyVerdict:
        """A generated reply that is toxic must be replaced; one that encourages self-harm is
        also a crisis (answer with ``crisis_reply``)."""
        reasons = self._toxicity(text, reply=True)
        crisis = any(reason.startswith(_SELF_HARM_PREFIX) for reason in reasons)
        return SafetyVerdict(
            crisis=crisis,
            toxic=bool(reasons),
            reasons=reasons,
            resources=self.resources.lines_for(locale) if crisis else [],
        )

    def crisis_reply(self, locale: str = DEFAULT_LANGUAGE) -> tuple[str, list[dict[str, str]]]:
        """The fixed, resource-giving answer to a crisis: (text, lines)."""
        return self.resources.crisis_reply(locale)

    def fallback_reply(self, locale: str = DEFAULT_LANGUAGE) -> str:
        """What replaces a toxic reply."""
        return self.resources.fallback_reply(locale)

    def _toxicity(self, text: str, *, reply: bool) -> list[str]:
        reasons: list[str] = []
        for detector in self.toxicity:
            reasons.extend(reason for reason in detector.assess(text, reply=reply) if reason not in reasons)
        return reasons
