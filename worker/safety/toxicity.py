"""Toxicity in generated replies (and abuse in user messages), from a lexicon and phrase rules.

A trained classifier cannot be downloaded on the machines this project targets, so the
default detector is a set of rules over normalised text (see normalize.py): slurs anywhere,
insults aimed at someone ("you are so stupid", "you idiot"), identity attacks, threats,
sexual harassment and, in replies, strong profanity, explicit vocabulary and anything that
encourages self-harm. Insults and threats go through the same framing checks as crisis
language: "you are not a burden" is negated, "people who call you stupid are wrong" reports
an insult instead of making one.

Any object with ``assess(text, *, reply) -> list[str]`` can stand in for, or next to, the
lexicon; ``ScoredToxicity`` wraps a trained model that returns label probabilities.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from worker.safety.context import is_negated, is_reported
from worker.safety.lexicon import Lexicon, alternation, load_lexicon, tolerant
from worker.safety.normalize import NormalizedText, normalize

# Replies that encourage self-harm are crisis-relevant too: the caller answers with the crisis reply.
SELF_HARM = "self_harm"


class ToxicityDetector(Protocol):
    def assess(self, text: str, *, reply: bool) -> list[str]:
        """Reasons of the form ``toxic:<category>:<rule>``; empty when the text is fine."""
        ...


@dataclass(frozen=True)
class ToxicityRule:
    rule_id: str
    category: str  # slur | insult | identity_attack | threat | sexual | profanity | self_harm
    pattern: re.Pattern[str]
    replies_only: bool = False
    framed: bool = True  # negation and reported speech can defuse it ("you are not stupid")

    @property
    def reason(self) -> str:
        return f"toxic:{self.category}:{self.rule_id}"


_NO_NEGATOR = r"(?!(?:not|never|no)\b)"
_PILLS = r"(?:pills|meds|medication|medicine|tablets|sleeping pills|painkillers)"
_SELF_HARM_VERB = r"(?:kill|hang|shoot|drown|cut|hurt|harm|starve|poison|unalive|of[f]|end|stab)"
_SELF_HARM_ACTS = (
    r"(?:cutting(?: yourself)?|self harm|self harming|hurting yourself|harming yourself|starving yourself|suicide|"
    r"killing yourself|ending your life|ending it|ending it all|overdosing|taking your (?:own )?life)"
)
_DEHUMANIZING = r"(?:animals|rats|cockroaches|vermin|parasites|subhuman|a disease|a plague|inferior|filth|savages|monkeys|apes|scum|trash|garbage)"


def build_rules(lexicon: Lexicon) -> tuple[ToxicityRule, ...]:
    # Slurs stay letter-exact: a forgiving "coon" would match "con", "nigger" would match "Niger".
    slur = alternation(lexicon.slurs, forgiving=False)
    insult = f"(?:{alternation(lexicon.insults)}|{slur})"
    filler = alternation(lexicon.insult_fillers)
    groups = alternation(lexicon.identity_groups)

    def rule(rule_id: str, category: str, pattern: str, **flags: bool) -> ToxicityRule:
        return ToxicityRule(rule_id, category, re.compile(tolerant(pattern)), **flags)

    return (
        ToxicityRule("slur", "slur", re.compile(rf"\b{slur}\b"), framed=False),
        # Insults aimed at the reader. A bare "you <insult>" must end the clause, so that
        # "you fool yourself" or "you creep me out" are not read as name-calling.
        rule(
            "you_are_insult",
            "insult",
            rf"\b(?:you(?: are| were| r| is)|your(?= (?:so|such|a|an|really|fucking|very|total|complete) ))(?: {filler})* {insult}\b",
        ),
        rule("you_insult", "insult", rf"\byou(?: {filler})* {insult}$"),
        rule(
            "fuck_you",
            "insult",
            r"\b(?:fuck|screw|f) (?:you|off|yourself)\b|\bstfu\b|\bshut the (?:fuck|hell) up\b|\b(?:piss|bugger) off\b|\bgo to hell\b|\beat shit\b",
        ),
        rule(
            "nobody_cares",
            "insult",
            r"\b(?:nobody|no one) (?:cares|gives a (?:shit|fuck|damn)|wants to hear|asked)(?: about| for)? (?:you|your|what you)\b|\b(?:nobody|no one) (?:likes|loves|wants) you\b|\b(?:everyone|everybody) hates you\b",
        ),
        rule(
            "deserve_misery",
            "insult",
            r"\byou (?:deserve|deserved) (?:to (?:suffer|be alone|be miserable|rot|be unhappy|feel this way|be lonely|be hurt|be abandoned)|the pain|it all)\b",
        ),
        rule("be_ashamed", "insult", r"\byou should be ashamed\b|\byou are the problem\b"),
        rule(
            "stop_whining",
            "insult",
            r"\bstop (?:whining|crying|complaining|being (?:so )?(?:dramatic|pathetic|a baby|a crybaby|sensitive|weak|a wimp))\b",
            replies_only=True,
        ),
        rule("shut_up", "insult", r"^shut up\b|\bshut up(?: you|$)", replies_only=True),
        rule(
            "dismissive",
            "insult",
            r"^(?:just |so )?(?:get over it|man up|grow up|toughen up|suck it up|deal with it)\b",
            replies_only=True,
        ),
        ToxicityRule(
            "identity_attack",
            "identity_attack",
            re.compile(
                rf"\b(?:all )?{groups} (?:are|r|is)(?: all| just| nothing but| such| so| too| fucking| a bunch of| basically)* (?:{insult}|{_DEHUMANIZING})\b"
                rf"|\b{groups} (?:should|must|need to|deserve to|ought to) (?:all |just )?(?:die|be killed|be shot|be gassed|be exterminated|be wiped out|burn|rot|be deported)\b"
            ),
        ),
        # Threats.
        rule(
            "i_will_hurt_you",
            "threat",
            rf"\bi (?:will|am going to|want to|would|could|shall|am about to|am coming to|could easily)(?: {_NO_NEGATOR}[a-z]+)? (?:kill|hurt|murder|stab|shoot|rape|beat|strangle|choke|punch|hunt down|slap|destroy|end|torture|beat up) (?:you|your family|your kids)\b",
        ),
        rule(
            "threat_phrase",
            "threat",
            r"\bi know where you live\b|\bi (?:will|am going to|am coming to) (?:find|track down|come for|come after|hunt) you(?: and\b|$)|\bwatch your back\b|\bi will (?:make|see) you (?:suffer|bleed|pay|cry)\b|\byou (?:are going to|will) (?:die|regret this|pay for this|suffer)\b",
        ),
        rule(
            "hope_you_die",
            "threat",
            r"\bi hope you (?:die|get (?:cancer|raped|hurt|killed|hit by a (?:car|bus|truck))|suffer|rot|burn|choke)\b|\bsomeone should (?:kill|shoot|hurt|beat|stab) you\b|\byou deserve to (?:get hurt|be hurt|be raped|be beaten|be shot|be killed)\b",
        ),
        # Sexual harassment.
        rule(
            "sexual_demand",
            "sexual",
            r"\bsend (?:me )?(?:your |some |a )?(?:nudes|nude|naked)\b|\bsend (?:me )?(?:a |some |your )?(?:pic|pics|picture|pictures|photo|photos|video|selfie) of (?:your|you) (?:naked|body|tits|boobs|ass|breasts|in your underwear)\b|\bshow me your (?:tits|boobs|body|pussy|dick|cock|ass|breasts|naked body)\b|\btake (?:off )?your clothes(?: off)?\b|\blet me (?:touch|see|feel) your (?:body|tits|boobs|ass|pussy|breasts)\b",
        ),
        rule(
            "sexual_advance",
            "sexual",
            r"\bi want to (?:fuck|rape|touch|grope|lick|bang|sleep with|have sex with|undress|kiss) you\b|\bi want to see you naked\b|\bsuck my (?:dick|cock)\b|\bsit on my (?:face|dick|cock)\b|\b(?:you are|your) (?:so |really |very )?(?:sexy|fuckable|horny|hot)\b|\bare you (?:wet|horny|naked)\b",
        ),
        ToxicityRule(
            "explicit",
            "sexual",
            re.compile(rf"\b{alternation(lexicon.sexual_explicit)}\b"),
            replies_only=True,
            framed=False,
        ),
        ToxicityRule(
            "strong_profanity",
            "profanity",
            re.compile(rf"\b{alternation(lexicon.strong_profanity)}\b"),
            replies_only=True,
            framed=False,
        ),
        # Telling someone to harm themselves: abuse from a user, and in a reply also a crisis.
        # "just die" after I / would / will / to is the writer's own wish, not aimed at anyone; the
        # look-behinds spell "will" as "wi.l" because a doubled letter becomes l{1,2} (lexicon.py),
        # which a look-behind cannot hold.
        rule(
            "go_kill_yourself",
            SELF_HARM,
            rf"\b(?:go|just|you should|should|why not|why do not you|you might as well|maybe you should|better|do us a favor and|do everyone a favor and|then)(?: just| go| and| ahead and)* {_SELF_HARM_VERB} yourself\b|^(?:kill|hang|shoot|drown|unalive|of[f]) yourself\b|\bkys\b|\b(?<!\bi )(?<!\bwould )(?<!\bwi.l )(?<!\bto )(?<!\bcould )(?<!\bcan )(?<!\bme )(?:why do not you|go|just|please|then)(?: just| go)* die\b(?! of| laughing| inside| a little)|\b(?:just|go|then) end it (?:all|already)\b",
        ),
        rule(
            "you_should_die",
            SELF_HARM,
            r"\byou (?:should|need to|ought to|deserve to|might as well|could just|may as well|have to)(?: just| go| really| honestly)? (?:die|end it all|end your life|take your (?:own )?life|commit suicide|not be alive|not exist|disappear forever|be dead|stop living|stop existing|jump off (?:a|the) bridge|overdose)\b|\byou would be better off dead\b",
        ),
        rule("better_off_without_you", SELF_HARM, r"\b(?:better off|happier|better) without you\b"),
        rule(
            "nobody_would_miss_you",
            SELF_HARM,
            r"\b(?:nobody|no one)(?: [a-z]+){0,3} (?:miss|notice|care|cry|mourn)(?: about| for)? (?:you|if you (?:died|were gone|killed yourself|disappeared|were dead))\b",
        ),
        rule(
            "self_harm_endorsed",
            SELF_HARM,
            rf"\b{_SELF_HARM_ACTS} (?:is|can be|would be|could be|might be|seems like|sounds like|really is|is really|is actually) (?:a |an |the |your )?(?:good|great|fine|valid|healthy|reasonable|perfect|best|right|only|smart|brave|logical|effective|okay|ok|easy|helpful|sensible)\b|\b{_SELF_HARM_ACTS} (?:is|would be|can be) (?:the|your|an|a) (?:answer|solution|way out)\b|\bit is (?:okay|ok|fine|alright|good|normal) to {_SELF_HARM_VERB} yourself\b|\byou (?:can|could|should) try (?:cutting|self harm|hurting yourself|starving yourself|overdosing)\b(?! (?:back|down|out|of[f]))",
            replies_only=True,
        ),
        rule(
            "disordered_eating",
            SELF_HARM,
            r"\b(?:you (?:could|should|can|might)|just|try|why not)(?: always| just)* (?:stop eating|skip(?:ping)? meals|starve yourself|make yourself (?:throw up|vomit|sick)|purge)\b(?! (?:junk|fast|sugar|processed|so|late|out|after|sweets|meat|before|at|when|while|too|in))",
            replies_only=True,
        ),
        rule(
            "method_advice",
            SELF_HARM,
            rf"\b(?:take|taking|swallow|swallowing) (?:all|the rest|a lot|a bunch|more|the whole bottle) (?:of )?(?:your |the |those |these )?{_PILLS} (?:at once|all at once|together|in one go|with alcohol|to (?:die|end it|overdose|never wake up|sleep forever|be sure)|would (?:work|do it|kill you|be enough))\b|\b(?:tie|tying|make|use) a noose\b|\b(?:slit|cut) your (?:wrists|throat|veins)\b|\b(?:the )?(?:most )?(?:painless|easiest|quickest|best|surest) (?:way|method) (?:to die|to kill yourself|to end it|to end your life|of suicide)\b|\b(?:a )?(?:lethal|fatal) dose (?:of|is|would be)\b|\bhere is how (?:to|you can) (?:kill|hurt|cut|hang|end)\b|\bjump(?:ing)? (?:off|from) (?:a|the) (?:bridge|building|roof|cliff)\b",
            replies_only=True,
        ),
    )


class LexiconToxicity:
    """The rule-based detector; ``assess`` takes about a tenth of a millisecond per message."""

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self.rules = build_rules(lexicon or load_lexicon())

    def assess(self, text: str, *, reply: bool) -> list[str]:
        normalized = normalize(text)
        return [rule.reason for rule in self.rules if (reply or not rule.replies_only) and _fires(rule, normalized)]


class ScoredToxicity:
    """Puts a trained classifier (Detoxify-style: text -> {label: probability}) behind the same
    interface; each label at or above its threshold becomes a ``toxic:model:<label>`` reason."""

    def __init__(
        self,
        score: Callable[[str], Mapping[str, float]],
        thresholds: Mapping[str, float] | None = None,
        default_threshold: float = 0.5,
    ) -> None:
        self.score = score
        self.thresholds = dict(thresholds or {})
        self.default_threshold = default_threshold

    def assess(self, text: str, *, reply: bool) -> list[str]:
        scores = self.score(text)
        return [
            f"toxic:model:{label}"
            for label, probability in scores.items()
            if probability >= self.thresholds.get(label, self.default_threshold)
        ]


def _fires(rule: ToxicityRule, text: NormalizedText) -> bool:
    for clause in text.clauses:
        for match in rule.pattern.finditer(clause):
            if not rule.framed:
                return True
            before = clause[: match.start()].split()
            if not is_negated(before) and not is_reported(before):
                return True
    return False
