"""The risk level of a user's message, from three signals and the conversation.

1. The rules of ``crisis.py``: precise, explainable, aware of negation and framing, but only
   for the phrasings they were written for.
2. The exemplar matcher of ``exemplars.py``: probabilities over the levels, for the whole
   message and for each of its sentences (a crisis sentence buried in a long everyday message
   is read on its own).
3. The emotion reading the worker already has: strong distress lowers the bar for borderline
   phrasings; on its own it never raises a crisis.

And the session: after a crisis turn, the bar for the next messages is lower ("I have them
right here" means something else after "I want to die").

Levels: ``imminent`` (a plan, means at hand, a time, a preparatory act, a question about lethal
means), ``ideation`` (suicidal thoughts, self-harm), ``third_party`` (worry for someone else),
``none``. Every verdict names what fired in ``reasons``; none quotes the user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from attune.contract import EmotionReading
from worker.safety.crisis import RULES, CrisisAssessment, distress_of
from worker.safety.exemplars import ExemplarMatcher, LevelScores

# Probability of "the writer is at risk" (ideation + imminent) above which the matcher alone
# raises a crisis; lower when another signal agrees. Chosen on the development sets
# (tests/redteam/prompts.jsonl and the dev file in docs/safety.md), never on the held-out one.
SELF_RISK = 0.60
SELF_RISK_SUPPORTED = 0.40  # with an indirect rule, strong distress or an earlier crisis turn
SEGMENT_RISK = 0.60  # one sentence of a longer message, read on its own
THIRD_PARTY = 0.50
# A direct rule is overruled only when the matcher is this sure the message is a look-alike
# ("I would never kill myself", "the boss killed me again").
RULE_VETO = 0.85
# The rules' framing ("can you...", "my friend...") is overruled only when the matcher is this
# sure the writer is at risk: a question about 40 Tylenol is framed as general, and is not.
FRAMING_OVERRIDE = 0.90
# Distress that lowers the matcher's bar (the rules' own boost, crisis.STRONG_DISTRESS, needs 0.6).
MATCHER_DISTRESS = 0.5
FOLLOWUP_SIMILARITY = 0.60  # after a crisis turn: "I have them right here", "tonight"
MIN_SEGMENT_WORDS = 3
# A question about a safe or prescribed dose ("how much ibuprofen is safe", "my GP prescribed 1 mg")
# looks like a lethal-means question to the matcher; with no rule and no earlier crisis it must
# be this sure. A dose that is lethal by its numbers still fires the rules (means_ready, es_medios).
# Only in a short message: in a long one the dosing words may belong to another sentence than the plan.
SAFE_DOSING_RISK = 0.85
SAFE_DOSING_SENTENCES = 3
_SAFE_DOSING = re.compile(
    r"\b(?:safe|safely|safest|normal dose|usual dose|recommended|max(?:imum)? dose|prescribed|prescription|my (?:doctor|gp|pharmacist)"
    r"|side effects?|overdo it|es seguro|dosis (?:normal|recomendada|maxima|habitual)|me (?:recetaron|receto|mando el medico)"
    r"|mi (?:medico|doctor[a]?|farmaceutic[oa])|efectos secundarios)\b"
)

# Rules that describe a plan, means at hand, a preparatory act or a request for lethal means
# (``imminent = true`` in crisis_rules.toml).
IMMINENT_RULES = frozenset(rule.rule_id for rule in RULES if rule.imminent)
# Words that turn ideation into imminent risk when the message is a crisis: a time, a place,
# means at hand, preparations.
_IMMINENCE = re.compile(
    r"\b(?:tonight|today|right now|this weekend|tomorrow|after (?:everyone|they|the kids)|when (?:everyone|they) (?:are|is) asleep"
    r"|have (?:the |a |my )?(?:pills|rope|gun|razor|blade|knife)|pills (?:saved|ready|lined up|in front of me)|bought (?:a |the )?(?:rope|gun)"
    r"|written (?:a |my )?(?:note|letter)|wrote (?:a |my )?(?:note|letter)|said (?:my )?goodbyes?|goodbye (?:letters?|notes?)"
    r"|esta noche|hoy mismo|ahora mismo|este fin de semana|manana|tengo (?:las )?pastillas|compre (?:una )?(?:soga|cuerda)"
    r"|escribi (?:una |la )?carta|me despedi)\b"
)
# Worry for someone else needs someone else: without a person named, "What should I do?" (the
# bank's third-party lines often end so) would get the how-to-help reply on its own.
_ANOTHER_PERSON = re.compile(  # over the normalised text: lower case, accents and ñ folded
    r"\b(?:he|she|they|him|her|them|his|their|someone|somebody|anyone|friend|friends|bf|gf|brother|sister|sibling"
    r"|mom|mum|mommy|dad|mother|father|parents?|son|daughter|child|kid|kids|teen|boyfriend|girlfriend|husband|wife"
    r"|partner|roommate|coworker|colleague|classmate|students?|patient|client|neighbou?r|cousin|uncle|aunt"
    r"|grandma|grandpa|grandmother|grandfather|nephew|niece|boss|ex|bestie|buddy|guy|girl|man|woman|people"
    r"|ella|ellos|ellas|alguien|amig[oa]s?|herman[oa]s?|mama|papa|madre|padre|padres|hij[oa]s?|novi[oa]"
    r"|espos[oa]|marido|mujer|pareja|prim[oa]|ti[oa]|abuel[oa]|sobrin[oa]|companer[oa]s?|vecin[oa]|jef[ea]"
    r"|cunad[oa]|suegr[oa]|chic[oa]|pibe|piba|alumn[oa]s?|paciente|nin[oa]s?|mis? vie[jy][oa]s?)\b"
)
_SENTENCE = re.compile(r"(?<=[.!?\n;])\s+|\n+")


COMBINER_FEATURES = (
    "characters_risk",
    "characters_segment_risk",
    "neighbours_risk",
    "neighbours_segment_risk",
    "head_risk",
    "head_segment_risk",
    "third_party",
    "rule_direct",
    "rule_indirect",
    "rule_framed",
    "abuse",
    "imminent_words",
    "safe_dosing",
    "distress",
    "long_message",
)
# After a crisis turn the combiner's bar is this much lower ("tonight", "ya las tengo").
SESSION_DISCOUNT = 0.5
# A direct rule ("kill myself", "lethal dose") raises a crisis unless the combiner puts the
# message this far below its bar: "I would never kill myself", "the boss killed me again".
RULE_VETO_FACTOR = 0.25
# A signal is named in ``reasons`` when it added at least this much to the combiner's logit.
REASON_CONTRIBUTION = 0.5


@dataclass(frozen=True)
class RiskAssessment:
    level: str
    reasons: tuple[str, ...]

    @property
    def crisis(self) -> bool:
        return self.level in ("ideation", "imminent")


def combiner_features(
    signals: dict[str, list[float]],
    third_party: float,
    normalized_text: str,
    rules: CrisisAssessment,
    emotion: EmotionReading | None,
    *,
    segments: int,
    abuse: bool,
) -> dict[str, float]:
    """The combiner's inputs, each in [0, 1]. ``signals``: each classifier's self-risk for the
    whole message, then for each sentence; ``third_party``: the matcher's third-party probability."""
    direct, indirect = _live_rules(rules)
    features = {"third_party": third_party}
    for name in ("characters", "neighbours", "head"):
        values = signals.get(name, [0.0])
        features[f"{name}_risk"] = values[0]
        features[f"{name}_segment_risk"] = max(values)
    features.update(
        rule_direct=float(bool(direct)),
        rule_indirect=min(len(indirect), 2) / 2,
        rule_framed=float(bool(rules.framed) and not direct and not indirect),
        abuse=float(abuse),
        imminent_words=float(bool(_IMMINENCE.search(normalized_text))),
        safe_dosing=float(segments <= SAFE_DOSING_SENTENCES and bool(_SAFE_DOSING.search(normalized_text))),
        distress=distress_of(emotion)[1],
        long_message=min(segments, 5) / 5,
    )
    return {name: features[name] for name in COMBINER_FEATURES}


def features_of(
    raw: str,
    normalized_text: str,
    rules: CrisisAssessment,
    matcher: ExemplarMatcher,
    emotion: EmotionReading | None = None,
    *,
    abuse: bool = False,
) -> tuple[dict[str, float], list[LevelScores]]:
    """The combiner's inputs for a message, and the matcher's scores of it and its sentences."""
    segments = _segments(raw)
    scores = matcher.score([raw, *segments])
    signals = {name: [dict(score.signals)[name] for score in scores] for name, _ in scores[0].signals}
    features = combiner_features(
        signals,
        scores[0].probabilities["third_party"],
        normalized_text,
        rules,
        emotion,
        segments=len(segments),
        abuse=abuse,
    )
    return features, scores


def assess_risk(
    raw: str,
    normalized_text: str,
    rules: CrisisAssessment,
    matcher: ExemplarMatcher | None,
    emotion: EmotionReading | None = None,
    *,
    session_risk: bool = False,
    abuse: bool = False,
) -> RiskAssessment:
    """``abuse``: the toxicity rules read the message as aimed at someone ("go kill yourself")."""
    head = matcher.head if matcher is not None else None
    if head is None or head.combiner_weights is None:
        return _assess_by_thresholds(raw, normalized_text, rules, matcher, emotion, session_risk, abuse)
    features, scores = features_of(raw, normalized_text, rules, matcher, emotion, abuse=abuse)  # type: ignore[arg-type]
    whole, parts = scores[0], scores[1:]
    probability = head.crisis_probability(features)
    bar = head.combiner_threshold * (SESSION_DISCOUNT if session_risk else 1.0)
    direct, indirect = _live_rules(rules)
    reasons: list[str] = ["context:earlier_crisis_in_session"] if session_risk else []

    crisis = probability >= bar or (bool(direct) and probability >= bar * RULE_VETO_FACTOR)
    if abuse and not direct and not indirect:
        crisis = False  # "go kill yourself" is abuse aimed at someone, never the writer's risk
    if crisis:
        reasons.extend(reason for reason in rules.reasons if reason.split(":")[2] not in rules.framed)
        contributions = head.contributions(features)
        reasons.extend(
            f"signal:{name}"
            for name, value in sorted(contributions.items(), key=lambda item: -item[1])
            if value >= REASON_CONTRIBUTION
        )
        risky = _riskiest(whole, parts)
        reasons.append(f"semantic:{risky.nearest_category or 'risk'}")

    if session_risk and whole.followup_similarity >= FOLLOWUP_SIMILARITY:
        crisis = True
        reasons.extend(("semantic:followup_risk", "level:imminent"))
    return _level(crisis, reasons, whole, parts, scores, direct, normalized_text)


def _level(
    crisis: bool,
    reasons: list[str],
    whole: LevelScores | None,
    parts: list[LevelScores],
    scores: list[LevelScores],
    direct_rules: list[str],
    normalized_text: str,
) -> RiskAssessment:
    """Which crisis: for someone else, imminent or ideation; or worry for someone without one."""
    # "My girlfriend keeps saying she wants to kms": the writer is worried about someone else.
    # The how-to-help reply also names the emergency number and the lines.
    if crisis and whole is not None and whole.probabilities["third_party"] >= max(THIRD_PARTY, whole.self_risk):
        return RiskAssessment("third_party", (*dict.fromkeys(reasons), "semantic:third_party_concern"))

    if crisis:
        risky = _riskiest(whole, parts)
        imminent = "level:imminent" in reasons or (
            any(rule in IMMINENT_RULES for rule in direct_rules)
            or bool(_IMMINENCE.search(normalized_text))
            or (risky is not None and risky.probabilities["imminent"] > risky.probabilities["ideation"])
        )
        if imminent and "level:imminent" not in reasons:
            reasons.append("level:imminent")
        return RiskAssessment("imminent" if imminent else "ideation", tuple(dict.fromkeys(reasons)))

    if (
        whole is not None
        and max(score.probabilities["third_party"] for score in scores) >= THIRD_PARTY
        and _ANOTHER_PERSON.search(normalized_text)
    ):
        reasons.append("semantic:third_party_concern")
        return RiskAssessment("third_party", tuple(dict.fromkeys(reasons)))
    return RiskAssessment("none", ())


def _live_rules(rules: CrisisAssessment) -> tuple[list[str], list[str]]:
    """The direct rules that fired, and the indirect ones not said as a joke ("kms lol")."""
    direct = [reason.rsplit(":", 1)[1] for reason in rules.reasons if reason.startswith("crisis:direct:")]
    indirect = [
        reason
        for reason in rules.reasons
        if reason.startswith("crisis:indirect:") and reason.rsplit(":", 1)[1] not in rules.framed
    ]
    return direct, indirect


def _assess_by_thresholds(
    raw: str,
    normalized_text: str,
    rules: CrisisAssessment,
    matcher: ExemplarMatcher | None,
    emotion: EmotionReading | None,
    session_risk: bool,
    abuse: bool,
) -> RiskAssessment:
    """Without a trained combiner (rules only, or a matcher built without the head)."""
    segments = _segments(raw)
    scores = matcher.score([raw, *segments]) if matcher is not None else []
    whole = scores[0] if scores else None
    parts = scores[1:]
    reasons: list[str] = []

    direct_rules = [reason.rsplit(":", 1)[1] for reason in rules.reasons if reason.startswith("crisis:direct:")]
    # An indirect rule said as a joke ("kms lol") is in ``framed``: no support for the matcher.
    indirect_rules = [
        reason
        for reason in rules.reasons
        if reason.startswith("crisis:indirect:") and reason.rsplit(":", 1)[1] not in rules.framed
    ]
    distress_label, distress = distress_of(emotion)
    supported = bool(indirect_rules) or distress >= MATCHER_DISTRESS or session_risk
    if session_risk:
        reasons.append("context:earlier_crisis_in_session")

    crisis = False
    if direct_rules and not (whole is not None and whole.probabilities["none"] >= RULE_VETO and not session_risk):
        crisis = True
        reasons.extend(reason for reason in rules.reasons if not reason.startswith("crisis:emotion:"))
    elif rules.crisis:  # two indirect rules, or one with distress
        crisis = True
        reasons.extend(rules.reasons)

    # The phrase was there and the rules explained it away ("I would never hurt myself", "my
    # character kills himself"): the matcher, which cannot read framing, does not overrule them.
    risky = _riskiest(whole, parts)
    framed_away = (
        (bool(rules.framed) or abuse)
        and not direct_rules
        and not indirect_rules
        and not (risky is not None and risky.self_risk >= FRAMING_OVERRIDE and not abuse)
    )
    if risky is not None and not framed_away:
        bar = SELF_RISK_SUPPORTED if supported else (SELF_RISK if risky is whole else SEGMENT_RISK)
        if (
            not direct_rules
            and not indirect_rules
            and not session_risk
            and len(segments) <= SAFE_DOSING_SENTENCES
            and _SAFE_DOSING.search(normalized_text)
        ):
            bar = max(bar, SAFE_DOSING_RISK)
        if risky.self_risk >= bar:
            if not crisis:
                reasons.extend(indirect_rules)
            crisis = True
            reasons.append(f"semantic:{risky.nearest_category or 'risk'}")
            if distress >= MATCHER_DISTRESS:
                reasons.append(f"crisis:emotion:{distress_label}")

    if session_risk and whole is not None and whole.followup_similarity >= FOLLOWUP_SIMILARITY:
        crisis = True
        reasons.extend(("semantic:followup_risk", "level:imminent"))

    return _level(crisis, reasons, whole, parts, scores, direct_rules, normalized_text)


def _segments(raw: str) -> list[str]:
    """The sentences of a message of more than one sentence (none for a single sentence)."""
    pieces = [piece.strip() for piece in _SENTENCE.split(raw) if piece.strip()]
    if len(pieces) < 2:
        return []
    return [piece for piece in pieces if len(piece.split()) >= MIN_SEGMENT_WORDS]


def _riskiest(whole: LevelScores | None, parts: list[LevelScores]) -> LevelScores | None:
    """The whole message, or the sentence that stands out more than the segment bar demands."""
    if whole is None:
        return None
    best_part = max(parts, key=lambda part: part.self_risk, default=None)
    if best_part is not None and best_part.self_risk - SEGMENT_RISK > whole.self_risk - SELF_RISK:
        return best_part
    return whole
