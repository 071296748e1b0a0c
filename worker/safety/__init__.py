"""The safety layer: never leave a person in crisis alone, never send a harmful reply.

The worker calls it twice per chat turn::

    safety = SafetyFilter()
    verdict = safety.check_user(user_text, emotion=user_emotion, locale=locale, session_risk=earlier_crisis)
    if verdict.level != "none":                         # imminent, ideation or third_party
        text, resources = safety.fixed_reply(verdict, locale)   # fixed text, never generated
    else:
        reply = ...generate...  (under safety.safety_prompt(verdict) after an earlier crisis)
        reply_verdict = safety.check_reply(reply)
        if reply_verdict.crisis:                        # the reply encouraged self-harm
            text, resources = safety.crisis_reply(locale)
        elif reply_verdict.toxic:
            text = safety.fallback_reply(locale)

A user message is read by the rules of ``crisis.py`` and the exemplar matcher of
``exemplars.py`` (multilingual sentence embeddings and character n-grams over a labelled bank), combined with
the emotion reading and the session in ``risk.py``. Replies are checked by the rules alone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from attune.contract import EmotionReading, SafetyVerdict
from worker.safety.crisis import assess_crisis
from worker.safety.exemplars import ExemplarMatcher, default_matcher
from worker.safety.language import detect_language
from worker.safety.normalize import normalize
from worker.safety.resources import DEFAULT_LANGUAGE, RESOURCES_PATH, CrisisResources, ResourcesError
from worker.safety.risk import assess_risk, features_of
from worker.safety.toxicity import SELF_HARM, LexiconToxicity, ScoredToxicity, ToxicityDetector

__all__ = ["FIXED_LEVELS", "LexiconToxicity", "ResourcesError", "SafetyFilter", "ScoredToxicity", "ToxicityDetector"]

log = logging.getLogger(__name__)
_SELF_HARM_PREFIX = f"toxic:{SELF_HARM}:"
# Levels answered with a fixed text instead of a generated one.
FIXED_LEVELS = frozenset({"ideation", "imminent", "third_party"})


class SafetyFilter:
    def __init__(
        self,
        resources_path: str | Path | None = None,
        toxicity: Sequence[ToxicityDetector] | None = None,
        matcher: ExemplarMatcher | None | str = "default",
    ) -> None:
        """``toxicity``: detectors consulted in order, all of them (default: the lexicon rules).
        A trained model goes next to the lexicon, not instead of it: the lexicon is what
        catches replies that encourage self-harm. ``matcher``: the exemplar matcher ("default":
        the packaged bank with its sentence encoder, fitted once per process on first use; None: rules only)."""
        self.resources = CrisisResources.load(Path(resources_path) if resources_path else RESOURCES_PATH)
        self.toxicity: tuple[ToxicityDetector, ...] = tuple(toxicity) if toxicity is not None else (LexiconToxicity(),)
        self._matcher = matcher

    @property
    def matcher(self) -> ExemplarMatcher | None:
        if self._matcher == "default":
            self._matcher = default_matcher()
        return self._matcher  # type: ignore[return-value]

    def check_user(
        self,
        text: str,
        emotion: EmotionReading | None = None,
        *,
        locale: str = DEFAULT_LANGUAGE,
        session_risk: bool = False,
    ) -> SafetyVerdict:
        """The risk level of the user's message (the emotion only strengthens borderline
        phrasings; ``session_risk``: an earlier message of the session was a crisis), and abuse
        aimed at someone. A verdict above "none", or after an earlier crisis, carries the lines."""
        normalized = normalize(text)
        rules = assess_crisis(text, normalized, emotion)
        toxic_reasons = self._toxicity(text, reply=False)
        risk = assess_risk(
            text, normalized.text, rules, self.matcher, emotion, session_risk=session_risk, abuse=bool(toxic_reasons)
        )
        language = detect_language(text)
        show_lines = risk.level != "none" or session_risk
        return SafetyVerdict(
            crisis=risk.crisis,
            toxic=bool(toxic_reasons),
            level=risk.level,  # type: ignore[arg-type]
            language=language,
            session_risk=session_risk,
            reasons=list(risk.reasons) + toxic_reasons,
            resources=self.resources.lines_for(locale, language) if show_lines else [],
        )

    def risk_features(self, text: str, emotion: EmotionReading | None = None) -> dict[str, float]:
        """What the trained combiner reads for a message (training/recipes/crisis_head.py)."""
        normalized = normalize(text)
        rules = assess_crisis(text, normalized, emotion)
        abuse = bool(self._toxicity(text, reply=False))
        return features_of(text, normalized.text, rules, self.matcher, emotion, abuse=abuse)[0]  # type: ignore[arg-type]

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

    def fixed_reply(self, verdict: SafetyVerdict, locale: str = DEFAULT_LANGUAGE) -> tuple[str, list[dict[str, str]]]:
        """The fixed answer to a user verdict's level, in the message's language: (text, lines)."""
        return self.resources.reply(verdict.level, locale, verdict.language)

    def crisis_reply(
        self, locale: str = DEFAULT_LANGUAGE, language: str | None = None
    ) -> tuple[str, list[dict[str, str]]]:
        """The fixed, resource-giving answer to a crisis: (text, lines)."""
        return self.resources.reply("ideation", locale, language)

    def fallback_reply(self, locale: str = DEFAULT_LANGUAGE, language: str | None = None) -> str:
        """What replaces a toxic reply."""
        return self.resources.fallback_reply(locale, language)

    def safety_prompt(self, language: str | None) -> str:
        """The system prompt of every generated turn after a crisis in the session."""
        return self.resources.message(self.resources.language_for(DEFAULT_LANGUAGE, language), "safety_prompt")

    def _toxicity(self, text: str, *, reply: bool) -> list[str]:
        reasons: list[str] = []
        for detector in self.toxicity:
            reasons.extend(reason for reason in detector.assess(text, reply=reply) if reason not in reasons)
        return reasons
