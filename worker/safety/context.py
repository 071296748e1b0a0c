"""Who says what, and whether they mean it: the words before a match that change its meaning.

Every helper looks at the tokens of one normalised clause that come *before* a matched
phrase. A matched phrase is only as good as its framing: "I would never hurt myself" is a
negation, "she wants to die" is about someone else, "people who call you stupid" reports an
insult instead of making one, "I used to cut" is about the past.
"""

from __future__ import annotations

from enum import Enum

NEGATORS = frozenset(
    {"not", "never", "no", "nor", "neither", "without", "zero", "nunca", "jamas", "ni", "sin", "tampoco"}
)
# "no one would care if I died" and "not sure I want to live" are not negations of the phrase.
_NEGATOR_BREAKERS = frozenset({"one", "sure", "certain", "longer"})
# "I can't stop thinking about killing myself": a negated "stop" affirms what follows.
_NEGATION_CANCELLERS = frozenset({"stop", "help", "resist", "shake", "wait", "imagine", "see", "anything"})
# A negation does not reach across a conjunction: "I'm not sad but I want to die".
_CONJUNCTIONS = frozenset(
    {
        "but",
        "and",
        "so",
        "because",
        "though",
        "although",
        "however",
        "yet",
        "or",
        "then",
        "if",
        "pero",
        "y",
        "porque",
        "aunque",
        "o",
        "entonces",
    }
)
NEGATION_WINDOW = 4
# "con 52 años y sin trabajo pienso en quitarme la vida": "sin" and "without" negate what
# follows them closely ("sin ganas de vivir"), not a phrase three words on.
SHORT_REACH_NEGATORS = {"sin": 2, "without": 2}

SELF_WORDS = frozenset({"i", "me", "myself"})
OTHER_SUBJECTS = frozenset(
    {
        "he",
        "she",
        "they",
        "you",
        "we",
        "him",
        "her",
        "them",
        "us",
        "someone",
        "somebody",
        "people",
        "anyone",
        "anybody",
        "everyone",
        "everybody",
        "friend",
        "friends",
        "brother",
        "sister",
        "mom",
        "mum",
        "dad",
        "mother",
        "father",
        "son",
        "daughter",
        "boyfriend",
        "girlfriend",
        "husband",
        "wife",
        "partner",
        "character",
        "kid",
        "kids",
        "student",
        "students",
        "patient",
        "client",
        "who",
        "guy",
        "girl",
        "man",
        "woman",
        "cousin",
        "uncle",
        "aunt",
        "grandma",
        "grandpa",
    }
)

_POSSESSIVES = frozenset({"my", "his", "her", "their", "our", "your"})
_PARTS_OF_ME = frozenset(
    {
        "life",
        "mind",
        "heart",
        "body",
        "brain",
        "soul",
        "head",
        "thoughts",
        "self",
        "whole",
        "own",
        "entire",
        "only",
        "last",
        "first",
        "urge",
        "urges",
    }
)

_REPORTING_VERBS = frozenset(
    {
        "say",
        "says",
        "said",
        "saying",
        "call",
        "calls",
        "called",
        "calling",
        "think",
        "thinks",
        "thought",
        "believe",
        "believes",
        "feel",
        "feels",
        "felt",
        "tell",
        "tells",
        "told",
        "telling",
        "means",
        "mean",
        "makes",
        "make",
        "made",
        "worry",
        "worried",
        "wonder",
        "like",
        "that",
        "whether",
        "fear",
        "afraid",
    }
)
REPORT_WINDOW = 6

PAST_MARKERS = ("used to", "clean from", "clean of", "recovered from", "recovering from", "recovery from", "years ago")


class Subject(Enum):
    SELF = "self"
    OTHER = "other"


def is_negated(before: list[str]) -> bool:
    """A negator shortly before the phrase, in the same conjunct, not cancelled in between."""
    window: list[str] = []
    for token in reversed(before):
        if token in _CONJUNCTIONS or len(window) == NEGATION_WINDOW:
            break
        window.append(token)
    window.reverse()
    for position, token in enumerate(window):
        if token not in NEGATORS or len(window) - position > SHORT_REACH_NEGATORS.get(token, NEGATION_WINDOW):
            continue
        after = window[position + 1 :]
        if after and after[0] in _NEGATOR_BREAKERS:
            continue
        if any(word in _NEGATION_CANCELLERS for word in after):
            continue
        return True
    return False


def subject_of(before: list[str]) -> Subject:
    """The nearest subject before the phrase; a clause that starts with the phrase means "I".

    In the phrase's own conjunct, a noun after a possessive ("my child was having suicidal
    thoughts") is someone else, unless it is part of the speaker ("my mind"); across a
    conjunction it is an object ("I lost my job and want to die").
    """
    in_own_conjunct = True
    for position in range(len(before) - 1, -1, -1):
        token = before[position]
        if token in SELF_WORDS:
            return Subject.SELF
        if token in OTHER_SUBJECTS:
            return Subject.OTHER
        if token in _CONJUNCTIONS:
            in_own_conjunct = False
        elif in_own_conjunct and position > 0 and before[position - 1] in _POSSESSIVES and token not in _PARTS_OF_ME:
            return Subject.OTHER
    return Subject.SELF


def is_reported(before: list[str]) -> bool:
    """Someone else's words or a feeling being named ("people who call you stupid", "you may
    feel like nobody would miss you"), unless the speaker owns them ("I think you are stupid")."""
    window = before[-REPORT_WINDOW:]
    for position in range(len(window) - 1, -1, -1):
        if window[position] not in _REPORTING_VERBS:
            continue
        return "i" not in window[max(0, position - 2) : position]
    return False


def is_past(before: list[str]) -> bool:
    joined = " ".join(before)
    return any(marker in joined for marker in PAST_MARKERS)
