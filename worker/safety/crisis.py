"""Suicide and self-harm intent in a user's message: a rule lexicon with negation and context.

A message is scored from the rules that match it, after each match has survived its
framing (see context.py): negated ("I would never hurt myself"), about someone else ("she
wants to die"), fictional ("my character kills himself in the novel") or in the past ("I
used to cut") matches are dropped. A direct rule (an explicit statement of intent, a method,
a plan) is enough on its own. An indirect one ("I can't do this anymore") is not: it needs a
second indirect signal or a strong sad, fearful or grieving emotion reading. Emotion on its
own never raises a crisis.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from attune.contract import EmotionReading
from worker.safety.context import Subject, is_negated, is_past, subject_of
from worker.safety.lexicon import tolerant
from worker.safety.normalize import NormalizedText


class Strength(Enum):
    DIRECT = 1.0
    INDIRECT = 0.5


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
    pattern: re.Pattern[str]
    strength: Strength
    names_self: bool = False  # the phrase itself says who ("myself", "my life"): skip the subject check
    check_negation: bool = True  # False where the phrase carries its own polarity ("no reason to live")
    hyperbole_prone: bool = False  # said as a joke often enough that "lol" makes it indirect
    unless: re.Pattern[str] | None = None  # context in the same clause that explains the phrase away


def _rule(rule_id: str, pattern: str, strength: Strength, **flags: bool | re.Pattern[str]) -> CrisisRule:
    return CrisisRule(rule_id, re.compile(tolerant(pattern)), strength, **flags)  # type: ignore[arg-type]


D, I = Strength.DIRECT, Strength.INDIRECT
_SUICIDE = r"(?:suicide|sucide|suicde|suiside|suiscide|suicid|sucid|sewerslide|suicdie)"
_SUICIDAL = r"(?:suicidal|suicidel|sucidal|suicdal|suisidal|suicidle|suacidal|suicidial|sewerslidal)"
_FIGURATIVE_DEATH = r"(?! (?:of|from) (?:embarrassment|laughter|laughing|boredom|shame|cringe|cuteness|jealousy|envy|happiness))(?! laughing)"
_IF_I_WERE_GONE = r"(?:me|if i (?:was|were|died|disappeared|left|killed myself|was gone|were gone|was dead|were dead)|when i am gone|when i die)"
# "I fell and hurt myself", "I burned myself on the stove": injuries, not self-harm.
_ACCIDENT = re.compile(
    r"\b(?:fall|fell|falling|slip|slipped|trip|tripped|accident|accidentally|lifting|workout|gym|skating|skiing|climbing|cooking|stove|oven|iron|kitchen|playing|running)\b"
)
_PILLS = r"(?:pills|tablets|sleeping pills|painkillers|tylenol|paracetamol|ibuprofen|advil|xanax|benadryl|aspirin|meds|medication|insulin)"

RULES: tuple[CrisisRule, ...] = (
    # Explicit intent.
    _rule(
        "kill_myself",
        r"\b(?:kill|killing|killed|end|ending|unalive|unaliving|hang|hanging|shoot|shooting|shot|drown|drowning|poison|poisoning|suffocate|gas) myself\b(?! laughing)|\b(?:to|gonna|will|just|might|could) of[f] myself\b",
        D,
        names_self=True,
        hyperbole_prone=True,
    ),
    _rule("kms", r"\bkms\b", D, names_self=True, hyperbole_prone=True),
    # Forum slang: "ctb" (catch the bus), "rope" as a verb.
    _rule(
        "ctb_rope",
        r"\bctb\b|\b(?:going to|gonna|gon|will|about to) rope\b|\broping (?:tonight|today|myself|soon)\b",
        D,
        names_self=True,
        hyperbole_prone=True,
    ),
    _rule(
        "end_my_life", r"\b(?:end|ending|take|taking|took) my (?:own )?life\b(?! back| into| in my)", D, names_self=True
    ),
    _rule(
        "end_it_all",
        r"(?:^|\b(?:i|to|will|gonna|going to|just|could|should|might|about to|planning on|plan on|thinking of|thinking about|ready to|want to|wanna) )(?:end|ending|finish|finishing) (?:it all|everything|this all|it tonight|it today|it for good|my existence|things (?:tonight|today|for good|once and for all))\b(?! with| between| off| on a)|\b(?:tonight|today|this weekend) is (?:the (?:night|day)|when) i (?:end|finish|do) (?:it|things|everything)\b",
        D,
    ),
    _rule("commit_suicide", rf"\b(?:commit|committing|attempt|attempting|try|trying) {_SUICIDE}\b", D),
    _rule(
        "suicide_way_out",
        rf"\b{_SUICIDE} (?:is|seems like|feels like|sounds like) (?:the |my )?(?:only|best|last|easiest) (?:way out|option|answer|solution|choice|way)\b",
        D,
    ),
    _rule(
        "suicidal_feeling",
        rf"\b(?:feel|feeling|feels|felt|am|been|getting|get|so|very|really|kinda|super|extremely|pretty|quite|still)(?: (?!(?:not|never|no)\b)[a-z]+)? {_SUICIDAL}\b",
        D,
    ),
    _rule(
        "suicidal_alone",
        rf"^(?:so |just |literally )?{_SUICIDAL}(?: again| lately| today| tonight| right now| rn| tbh| honestly| ngl| af)*$",
        D,
    ),
    _rule(
        "suicidal_thoughts",
        rf"\b(?:having|have|had|get|getting|got|keep having)(?: [a-z]+)? {_SUICIDAL} (?:thoughts|thinking|feelings|ideation|urges)\b",
        D,
    ),
    _rule(
        "thinking_of_suicide",
        rf"\b(?:think|thinking|thought|thoughts|considering|considered|contemplating)(?: [a-z]+){{0,2}} (?:about|of)? ?(?:{_SUICIDE}|killing myself|ending (?:it all|my life|it|things|everything)|not being alive|taking my (?:own )?life)\b",
        D,
    ),
    _rule(
        "want_to_die",
        rf"\b(?:want|wanting|wanted|wish|ready|deserve|deserved|desperate|longing|can not wait) to (?:die|be dead|not exist|not be alive|not wake up|disappear forever|sleep forever|stop existing|stop living|stop breathing|unalive)\b{_FIGURATIVE_DEATH}",
        D,
        hyperbole_prone=True,
    ),
    _rule(
        "wish_i_was_dead",
        r"\bwish (?:that )?i (?:was|were|could|would|had) (?:be |just |simply )?(?:dead|die|died|never been born|not born|not alive|gone forever|never existed|not wake up|never wake up)\b",
        D,
        names_self=True,
    ),
    _rule(
        "hope_i_die", r"\bhope i (?:die|do not wake up|never wake up|get hit by|do not make it)\b", D, names_self=True
    ),
    _rule("better_off_dead", r"\b(?:better off|rather be) dead\b(?! than)", D),
    _rule(
        "not_want_to_live",
        r"\b(?:do not|does not|did not|no longer|not) (?:really |even |just )?(?:want|wish) to (?:live|be alive|exist|wake up(?= anymore| any more| again| tomorrow| ever|$)|keep living|go on living|be here anymore|be here any more|be around anymore|be on this earth|be in this world)\b",
        D,
    ),
    _rule("cant_go_on_living", r"\bcan not (?:go on|keep) (?:living|being alive|existing)\b", D),
    _rule(
        "no_reason_to_live",
        r"\b(?:no|any|zero) (?:reason|point|purpose) (?:to|in|of|for) (?:live|living|being alive|staying alive|going on|keep living)\b|\bnothing (?:left )?to live for\b|\b(?:not|is not|no longer) worth living\b|\bwhat is the point (?:of|in) (?:living|being alive|going on)\b|\bwhy (?:would|should|do) i (?:even )?(?:want to )?(?:live|keep living|go on living|be alive|stay alive)\b|\blife (?:is not|is no longer|does not feel|does not seem) worth (?:it|living)\b",
        D,
        check_negation=False,
    ),
    _rule(
        "everyone_better_off",
        r"\b(?:everyone|everybody|world|family|people|they all|all of them|friends|parents|kids) (?:would|will|is|are)(?: [a-z]+){0,2} better off (?:without me|if i (?:was|were|died|disappeared|killed myself|was not here|were not here|was gone|were gone|did not exist|never existed|was dead|were dead|was never born|was not around|were not around))\b|\b(?:everyone|everybody|world|family|people|friends|parents|kids) (?:would|will) be (?:happier|better) (?:without me|if i (?:was|were) (?:not around|gone|dead|not here))\b",
        D,
        names_self=True,
    ),
    _rule(
        "better_off_without_me",
        r"\bbetter off without me\b|\bbetter off if i (?:was|were|am|died|disappeared|killed myself|was not here|were not here|was gone|were gone|did not exist|never existed|was dead|were dead|was never born)\b",
        I,
        names_self=True,
    ),
    _rule(
        "nobody_would_miss_me",
        rf"\b(?:(?:nobody|no one)(?: [a-z]+){{0,3}}|who (?:would|will|is going to)(?: even| really| actually)?) (?:miss|notice|care|cry|mourn)(?: about| for)? {_IF_I_WERE_GONE}\b",
        D,
        names_self=True,
        check_negation=False,
    ),
    _rule(
        "sleep_never_wake",
        r"\b(?:sleep|go to sleep|fall asleep|close my eyes) and (?:never|not) wake up\b|\bnever wake up again\b",
        D,
    ),
    # Means and plans.
    _rule(
        "how_many_pills",
        rf"\bhow (?:many|much) (?:[a-z]+ ){{0,2}}{_PILLS}\b(?: [a-z]+){{0,4}} (?:would it take|does it take|to (?:die|overdose|od|kill|end it|not wake up)|is (?:fatal|lethal|deadly|too many)|would kill|to be fatal)\b(?! to (?:feel|work|help|sleep|kick|get|fall))",
        D,
    ),
    _rule(
        "means_ready",
        rf"\b(?:{_PILLS}|rope|gun|razor|razors|blade|blades) (?:lined up|ready|saved up|stockpiled|counted out)\b|\b(?:saving up|stockpiling|hoarding) (?:my )?{_PILLS}\b|\b(?:took|take|taking|swallowed|swallow) (?:[1-9][0-9]+|a whole bottle of|a handful of) (?:[a-z]+ )?{_PILLS}\b|\b(?:use|using|turn|turning) (?:it|the gun|a gun|the knife|a knife) on myself\b",
        D,
    ),
    _rule("lethal_dose", r"\b(?:lethal|fatal|deadly) (?:dose|amount|overdose)\b", D),
    _rule("overdose", r"\b(?:overdose|overdosing|od) (?:on|tonight|today|again)\b|\bto (?:overdose|od)\b", D),
    _rule(
        "take_all_pills",
        rf"\b(?:take|taking|swallow|swallowing|took) (?:all|every one|the whole bottle|a whole bottle|the rest) (?:of )?(?:my |the |these |those )?{_PILLS}\b",
        D,
    ),
    _rule(
        "method_question",
        r"\b(?:painless|easiest|quickest|best|fastest|surest|easy|quick) (?:way|ways|method|methods) (?:to|of) (?:die|dying|kill myself|end it|end my life|commit suicide)\b|\bhow (?:to|do i|can i|would i|could i|should i) (?:commit suicide|tie a noose|slit my wrists|end it all|die painlessly)\b|\b(?:is|are|would) (?:an |the )?(?:overdoses?|overdosing|hanging|drowning|slitting my wrists|bleeding out|dying) (?:be )?(?:painful|hurt|quick)\b|\b(?:does|would|will) (?:an overdose|overdosing|hanging|drowning|dying) hurt\b",
        D,
    ),
    _rule(
        "jump_off",
        r"\bjump(?:ing)? (?:off|from|in front of) (?:a|the|my) (?:bridge|building|roof|cliff|balcony|train|bus|tower|window|overpass)\b",
        D,
    ),
    _rule("noose", r"\b(?:tie|tied|tying|make|made|making|bought|buy|buying) a noose\b", D),
    _rule("suicide_note", rf"\b(?:{_SUICIDE}|goodbye) (?:note|notes|letter|letters|plan|plans)\b", D),
    # Self-harm.
    _rule(
        "harm_myself",
        r"\b(?:hurt|hurting|harm|harming|harmed|cut|cutting|burn|burning|burned|burnt|stab|stabbing|starve|starving|starved|punish|punishing|scratch|scratching) myself\b(?! out)",
        D,
        names_self=True,
        unless=_ACCIDENT,
    ),
    _rule(
        "cut_body",
        r"\b(?:slit|slash|slashing|cut|cutting|slitting) my (?:wrists?|throat|arms?|legs?|thighs?|skin|veins)\b",
        D,
        names_self=True,
    ),
    _rule(
        "self_harm_again",
        r"\b(?:cutting|burning|self harming) again\b|\bi (?:have )?(?:cut|burned|burnt|self harmed) (?:myself )?again\b",
        D,
    ),
    _rule(
        "self_harm_urge",
        r"\b(?:urge to|urges to|want to|wanting to|tempted to|going to|need to) (?:self harm|cut|burn myself)(?= again| myself| tonight| deeper| more|$)",
        D,
    ),
    _rule(
        "self_harm_habit",
        r"\b(?:been|started|start|keep|kept|relapsed|relapse|can not stop|back to) (?:self harming|cutting)\b(?! (?:back|down|out|off|class|classes|school|carbs|sugar|ties|corners|it|the|my hair|hair|costs|people|them|him|her|you|and paste|some|in line|through|from|short|my finger|my hand))",
        D,
    ),
    _rule(
        "i_self_harm", r"\bi (?:still |sometimes |often |have |have been |do )?self harm(?:ed)?\b", D, names_self=True
    ),
    # Indirect: not enough on their own.
    _rule(
        "cant_go_on",
        r"\bcan not (?:go on|do this|take (?:it|this|much more)|cope|handle (?:it|this|anything|life)|keep going|keep doing this|live like this|bear (?:it|this)|deal with (?:it|this|life)|do it)(?: anymore| any more| any longer)?\b",
        I,
    ),
    _rule(
        "want_it_to_stop",
        r"\bwant (?:it all|everything|the pain|all of this|this|it|all this) to (?:stop|end|be over|go away)\b",
        I,
    ),
    _rule(
        "disappear_forever",
        r"\b(?:want|wish i could|wish to|just want|feel like|thinking about) (?:to )?(?:disappear|disappearing|vanish|vanishing) forever\b",
        D,
    ),
    _rule(
        "disappear",
        r"\b(?:want|wish i could|wish to|just want|feel like) (?:to )?(?:disappear|disappearing|vanish|vanishing|fade away)\b",
        I,
    ),
    _rule(
        "whats_the_point",
        r"\bwhat is (?:even )?the point(?: (?:of|in) (?:anything|life|it all|trying|this|everything|existing|me|even trying))?(?: anymore| any more)?$|\bno point (?:in|to|of) (?:anything|life|trying|going on|existing)\b",
        I,
    ),
    _rule(
        "hopeless",
        r"\b(?:i am|i feel|feeling|feel|i have been feeling|i have felt) (?:so |completely |totally |utterly |really |just |very |such )?(?:hopeless|empty inside|empty|worthless|numb|broken|trapped|like a failure|like giving up|like a burden|a burden)\b",
        I,
    ),
    _rule(
        "give_up",
        r"\bgive up on (?:life|everything|living|myself)\b|\bready to (?:be done|give up|let go of everything)\b|\bi (?:just )?(?:give up|gave up|am giving up)$",
        I,
    ),
    _rule(
        "hate_my_life",
        r"\bi (?:really |just |fucking )?hate (?:my life|myself|being alive|living|existing)\b",
        I,
        names_self=True,
    ),
    _rule("tired_of_living", r"\b(?:tired|sick|exhausted) of (?:living|being alive|existing)\b", D),
    _rule(
        "tired_of_everything",
        r"\b(?:tired|sick|exhausted) of (?:life|everything|it all)\b|\bdone with (?:life|living|everything|it all|this world)\b",
        I,
    ),
    _rule(
        "goodbye",
        r"\bthis is (?:my )?(?:final )?goodbye\b|\bgoodbye forever\b|\bfinal goodbye\b|\bsaying goodbye to everyone\b",
        I,
    ),
    _rule("giving_away", r"\bgiving away (?:all )?(?:of )?my (?:stuff|things|belongings|possessions)\b", I),
    _rule(
        "no_way_out",
        r"\b(?:do not|can not) see (?:a|any) (?:future|way forward|way out)\b|\bno way out\b|\bno escape\b|\b(?:never|not ever) going to get better\b|\bwill never get better\b",
        I,
        check_negation=False,
    ),
    _rule(
        "nobody_cares",
        r"\b(?:nobody|no one) (?:really |even |actually )?(?:cares|loves|likes|wants|needs) (?:about )?me\b",
        I,
        names_self=True,
        check_negation=False,
    ),
    _rule(
        "thinking_of_death",
        r"\b(?:think|thinking|thought) (?:a lot )?(?:about|of) (?:dying|death|being dead|not being here|not existing)\b",
        I,
    ),
    # Questions about where or how much, which only make sense as method seeking.
    _rule(
        "where_to_cut",
        r"\b(?:where|how deep|which way|what direction) (?:on (?:the|your|my) (?:wrist|arm|neck|thigh)s? )?(?:do|should|would|to|can) (?:you|i|someone|one|people)? ?cut\b|\bcut (?:down|across|along) (?:the|my|your) (?:wrist|arm|vein)s?\b",
        D,
        names_self=True,
        check_negation=False,
    ),
    _rule(
        "whole_bottle",
        r"\b(?:what (?:would )?happens?|would (?:it|that) (?:kill|be fatal)|is it fatal|could you die) if (?:someone|somebody|i|you|a person) (?:took|takes|take|swallowed|swallows|drank|drinks) (?:a whole|an entire|the whole|all (?:the|my|of (?:the|my))?|a full) (?:bottle|pack|packet|box|strip|month)\b",
        D,
        names_self=True,
        check_negation=False,
    ),
    _rule("suicide_mention", rf"\b(?:{_SUICIDE}|{_SUICIDAL})\b", I),
) + (
    # Spanish. Normalisation folds accents ("quitarme la vida", "ya no aguanto mas") and, being
    # written for English chat, reads "ya" as "you": the patterns accept both.
    _rule(
        "es_quiero_morir",
        r"\b(?:me quiero|quiero|quisiera|me gustaria|tengo ganas de) (?:morir(?:me)?|estar muert[oa]|matarme|suicidarme|desaparecer para siempre|dejar de existir)\b"
        r"|\bme (?:quiero|quisiera|dan ganas de|gustaria) (?:matar|suicidar|quitar la vida)\b",
        D,
        names_self=True,
    ),
    _rule(
        "es_matarme",
        r"\b(?:matarme|suicidarme|quitarme la vida|me voy a (?:matar|suicidar|quitar la vida)|acabar con mi vida|terminar con mi vida|me mato|me suicido)\b",
        D,
        names_self=True,
        hyperbole_prone=True,
    ),
    _rule(
        "es_no_quiero_vivir",
        r"\b(?:no quiero|ya no quiero|no tengo ganas de) (?:vivir|seguir viviendo|seguir|existir|estar aqui|despertar|despertarme)\b(?! (?:asi|en esta|en este|con))",
        D,
        names_self=True,
        check_negation=False,
    ),
    _rule(
        "es_mejor_sin_mi",
        r"\b(?:estarian|estarían|estaria|estarían|seria|sería|vivirian) mejor sin mi\b|\bnadie me (?:extranaria|echaria de menos|va a extranar)\b|\b(?:ojala|ojalá) (?:me muera|no despertar|no despierte|estar muert[oa])\b",
        D,
        names_self=True,
        check_negation=False,
    ),
    _rule(
        "es_autolesion",
        r"\b(?:cortarme|me corto|me volvi a cortar|me he cortado|me corte (?:otra vez|de nuevo|las venas|los brazos|las piernas)|quemarme|hacerme dano|lastimarme|autolesion(?:arme|es)?|las venas)\b",
        D,
        names_self=True,
        unless=re.compile(r"\b(?:cocinando|cocina|cuchillo de cocina|sin querer|accidente|afeitar|afeitandome)\b"),
    ),
    _rule(
        "es_medios",
        r"\b(?:cuantas pastillas|dosis letal|dosis mortal|cuanto (?:paracetamol|ibuprofeno|clonazepam|alprazolam|insulina) (?:hace falta|se necesita|para morir|es mortal|mata)|carta de despedida|me despido de (?:todos|ustedes|ti)|(?:ya )?tengo (?:las pastillas|la soga|la cuerda|el arma|la pistola))\b",
        D,
        names_self=True,
        check_negation=False,
    ),
    _rule(
        "es_golpearme",
        r"\b(?:me pego|me golpeo|me doy golpes|me rasguno|me araño|me quemo) (?:en la cabeza|contra la pared|los brazos|las piernas|a proposito|cuando)\b",
        D,
        names_self=True,
    ),
    _rule(
        "es_desaparecer",
        r"\b(?:quiero|quisiera|me gustaria|ojala pudiera) desaparecer\b(?! (?:de esta|de la|del|un rato|unos dias|el fin|una semana))",
        I,
        names_self=True,
        check_negation=False,
    ),
    _rule(
        "es_no_aguanto",
        r"\b(?:(?:ya|you) )?no (?:aguanto|puedo|doy) mas\b|\b(?:acabar|acabo|acabare|terminar|termino) con todo\b|\bno (?:le )?veo (?:sentido|salida)\b|\bque sentido tiene (?:vivir|seguir|todo)\b|\bestoy cansad[oa] de vivir\b|\bquiero desaparecer\b",
        I,
        names_self=True,
        check_negation=False,
    ),
)

_FICTION = re.compile(
    r"\b(?:character|characters|novel|novels|fiction|fanfic|fanfiction|story|stories|plot|scene|chapter|screenplay|"
    r"script|movie|movies|film|films|episode|series|book|books|lyrics|song|songs|poem|poetry|essay|article|"
    r"research|paper|thesis|statistics|stats|rates|prevention|awareness|hotline|squad|documentary|anime|manga|"
    r"villain|hero|protagonist|game|play)\b"
)
_JOKING = re.compile(r"\b(?:(?:ha){2,}h?|(?:he){2,}|lol(?:ol)*|lmf?ao|rofl|jk|xd)\b")
_LAUGHING_EMOJI = ("😂", "🤣", "💀", "😹", "😆")
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
    joking = any(emoji in raw for emoji in _LAUGHING_EMOJI) or bool(_JOKING.search(text.text))
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
