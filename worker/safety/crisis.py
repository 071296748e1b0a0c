"""Suicide and self-harm intent in a user's message: a rule lexicon with negation and context.

A message is scored from the rules that match it, after each match has survived its
framing (see context.py): negated ("I would never hurt myself"), about someone else ("she
wants to die"), fictional ("my character kills himself in the novel") or in the past ("I
used to cut") matches are dropped. A direct rule (an explicit statement of intent, a method,
a plan) is enough on its own. An indirect one ("I can't do this anymore") is not: it needs a
second indirect signal or a strong sad, fearful or grieving emotion reading. Emotion on its
own never raises a crisis.

The rules themselves are data, in ``crisis_rules.toml`` beside this file: validated and
compiled once, when this module is imported. What they mean is decided here.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from attune.contract import EmotionReading
from worker.safety.context import Subject, is_negated, is_past, subject_of
from worker.safety.lexicon import tolerant
from worker.safety.normalize import NormalizedText


class Strength(Enum):
    DIRECT = 1.0
    INDIRECT = 0.5


RULES_PATH = Path(__file__).with_name("crisis_rules.toml")
# "{suicide}" in a pattern names a fragment; a quantifier ("{0,2}") starts with a digit, so it never does.
_FRAGMENT = re.compile(r"\{([a-z_][a-z0-9_]*)\}")

CRISIS_THRESHOLD = 1.0
# Labels of the chat-emotion classifiers (GoEmotions, the 6 moods, EmpatheticDialogues) that
# make an indirect phrasing more likely to be meant literally.
DISTRESS_LABELS = frozenset(
    {
        "sadness",
        "sad",
        "grief",
        "fear",
        "afraid",
        "terrified",
        "devastated",
        "lonely",
        "despair",
        "remorse",
        "guilty",
        "ashamed",
        "hopeless",
    }
)
STRONG_DISTRESS = 0.6
DISTRESS_BOOST = 0.5


@dataclass(frozen=True)
class CrisisRule:
    rule_id: str
    language: str
    pattern: re.Pattern[str]
    strength: Strength
    imminent: bool = False  # a plan, means at hand, a preparatory act or a request for lethal means
    names_self: bool = False  # the phrase itself says who ("myself", "my life"): skip the subject check
    check_negation: bool = True  # False where the phrase carries its own polarity ("no reason to live")
    hyperbole_prone: bool = False  # said as a joke often enough that "lol" makes it indirect
    unless: re.Pattern[str] | None = None  # context in the same clause that explains the phrase away


# An empty pattern, or an empty alternative, would match every message.
_Regex = Annotated[str, Field(min_length=1)]


class RuleEntry(BaseModel):
    """One ``[[rules]]`` table of crisis_rules.toml as written; a key it does not know is an error."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    language: str = Field(pattern=r"^[a-z]{2}$")
    strength: Literal["direct", "indirect"]
    pattern: _Regex | Annotated[list[_Regex], Field(min_length=1)]  # a list: alternatives, joined with "|"
    imminent: bool = False
    names_self: bool = False
    check_negation: bool = True
    hyperbole_prone: bool = False
    unless: _Regex | None = None


class RulesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    fragments: dict[str, _Regex] = Field(default_factory=dict)
    rules: list[RuleEntry]


def load_rules(path: Path = RULES_PATH) -> tuple[CrisisRule, ...]:
    """The rules of ``crisis_rules.toml``, validated and compiled; an error names the rule and the key."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path.name}: {error}") from None
    try:
        parsed = RulesFile.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(f"{_location(problem['loc'], raw)}: {problem['msg']}" for problem in error.errors())
        raise ValueError(f"{path.name}: {problems}") from None
    names = [entry.name for entry in parsed.rules]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"{path.name}: rule names used more than once: {', '.join(repeated)}")
    return tuple(_compile(entry, parsed.fragments, path.name) for entry in parsed.rules)


def _compile(entry: RuleEntry, fragments: dict[str, str], source: str) -> CrisisRule:
    template = entry.pattern if isinstance(entry.pattern, str) else "|".join(entry.pattern)
    unknown = sorted({name for name in _FRAGMENT.findall(template) if name not in fragments})
    if unknown:
        raise ValueError(f"{source}: rules.{entry.name}.pattern names unknown fragments: {', '.join(unknown)}")
    source_pattern = _FRAGMENT.sub(lambda match: fragments[match.group(1)], template)
    try:
        pattern = re.compile(tolerant(source_pattern))
        unless = re.compile(entry.unless) if entry.unless is not None else None
    except re.error as error:
        raise ValueError(f"{source}: rules.{entry.name} does not compile: {error}") from None
    return CrisisRule(
        rule_id=entry.name,
        language=entry.language,
        pattern=pattern,
        strength=Strength[entry.strength.upper()],
        imminent=entry.imminent,
        names_self=entry.names_self,
        check_negation=entry.check_negation,
        hyperbole_prone=entry.hyperbole_prone,
        unless=unless,
    )


def _location(loc: tuple[int | str, ...], raw: dict[str, Any]) -> str:
    """``rules.kill_myself.patern`` for a problem pydantic places at ``rules.0.patern``."""
    parts = [str(part) for part in loc]
    if len(loc) > 1 and loc[0] == "rules" and isinstance(loc[1], int):
        entry = raw["rules"][loc[1]]
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            parts[1] = entry["name"]
    return ".".join(parts)


RULES = load_rules()


_FICTION = re.compile(
    r"\b(?:character|characters|novel|novels|fiction|fanfic|fanfiction|story|stories|plot|scene|chapter|screenplay|"
    r"script|movie|movies|film|films|episode|series|book|books|lyrics|song|songs|poem|poetry|essay|article|"
    r"research|paper|thesis|statistics|stats|rates|prevention|awareness|hotline|squad|documentary|anime|manga|"
    r"villain|hero|protagonist|game|play)\b"
)
_JOKING = re.compile(r"\b(?:(?:ha){2,}h?|(?:he){2,}|lol(?:ol)*|lmf?ao|rofl|jk|xd)\b")
_LAUGHING_EMOJI = ("😂", "🤣", "💀", "😹", "😆")
# "kms lol. not joking tho": the writer takes the laugh back, so it frames nothing away.
_NOT_JOKING = re.compile(
    r"\b(?:not|no|am not|i am not|i do not|do not) (?:joking|kidding|a joke|lying|playing)\b|\bno joke\b|"
    r"\b(?:i am|i am being|being|dead) (?:serious|deadass)\b|\bdeadass\b|\bfor real\b|\bno (?:es|era|estoy|hablo) "
    r"(?:broma|bromeando|de broma|jugando|en broma)\b|\bno bromeo\b|\bhablo en serio\b|\bva en serio\b|\bes en serio\b"
)
_CONJUNCTION = re.compile(r"\b(?:but|and|so|because|though|although|however|yet)\b")


@dataclass(frozen=True)
class CrisisAssessment:
    score: float
    reasons: tuple[str, ...]
    # Rules whose phrase was there but framed away (negated, in the past, about someone else,
    # fiction, joking): evidence that the message only looks like a crisis.
    framed: tuple[str, ...] = ()

    @property
    def crisis(self) -> bool:
        return self.score >= CRISIS_THRESHOLD


def assess_crisis(raw: str, text: NormalizedText, emotion: EmotionReading | None = None) -> CrisisAssessment:
    joking = (any(emoji in raw for emoji in _LAUGHING_EMOJI) or bool(_JOKING.search(text.text))) and not (
        _NOT_JOKING.search(text.text)
    )
    strengths: dict[str, Strength] = {}
    framed: list[str] = []
    for clause in text.clauses:
        for rule in RULES:
            if rule.rule_id in strengths:
                continue
            strength = _match(rule, clause)
            if strength is None:
                if rule.rule_id not in framed and rule.pattern.search(clause):
                    framed.append(rule.rule_id)
                continue
            strengths[rule.rule_id] = Strength.INDIRECT if joking and rule.hyperbole_prone else strength
    if joking:
        framed.extend(rule_id for rule_id, strength in strengths.items() if strength is Strength.INDIRECT)

    reasons = [f"crisis:{strength.name.lower()}:{rule_id}" for rule_id, strength in strengths.items()]
    score = sum(strength.value for strength in strengths.values())
    distress_label, distress = distress_of(emotion)
    if strengths and distress >= STRONG_DISTRESS:
        score += DISTRESS_BOOST
        reasons.append(f"crisis:emotion:{distress_label}")
    return CrisisAssessment(score=score, reasons=tuple(reasons), framed=tuple(framed))


def _match(rule: CrisisRule, clause: str) -> Strength | None:
    """The rule's strength if one of its matches in the clause survives its framing."""
    for match in rule.pattern.finditer(clause):
        before = clause[: match.start()].split()
        if rule.check_negation and is_negated(before):
            continue
        if is_past(before):
            continue
        if not rule.names_self and subject_of(before) is Subject.OTHER:
            continue
        if _FICTION.search(_conjunct_around(clause, match.start(), match.end())):
            continue
        if rule.unless and rule.unless.search(clause):
            continue
        return rule.strength
    return None


def _conjunct_around(clause: str, start: int, end: int) -> str:
    """The stretch of the clause between the conjunctions on either side of a match."""
    left = 0
    for conjunction in _CONJUNCTION.finditer(clause, 0, start):
        left = conjunction.end()
    right_match = _CONJUNCTION.search(clause, end)
    return clause[left : right_match.start() if right_match else len(clause)]


def distress_of(emotion: EmotionReading | None) -> tuple[str, float]:
    """The strongest distress label of a reading and its score ("", 0.0 without one)."""
    if emotion is None:
        return "", 0.0
    scores = dict(emotion.scores)
    scores.setdefault(emotion.label, 0.0)
    candidates = [(score, label) for label, score in scores.items() if label in DISTRESS_LABELS]
    if not candidates:
        return "", 0.0
    score, label = max(candidates)
    return label, score
