"""Text normalisation shared by the crisis and toxicity detectors.

People in distress type fast and loosely, and people who want to get abuse past a filter
disguise it; both land on the same canonical form here: lowercase ASCII words separated by
single spaces, contractions expanded ("don't" -> "do not"), leetspeak undone ("k1ll" ->
"kill"), separators and masks removed ("s.u.i.c.i.d.e", "f*ck"), stretched letters squeezed
("diiiie" -> "die"). The text is split into clauses at punctuation so that a negation or a
fictional frame in one sentence never leaks into the next.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache

from worker.safety.lexicon import load_lexicon

_TYPOGRAPHIC = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'", "“": '"', "”": '"', "–": "-", "—": "-"})

# Letters hidden behind separators: "k.i.l.l", "s-u-i-c-i-d-e", "f_u_c_k" (three or more).
_SEPARATED_LETTERS = re.compile(r"(?<![a-z0-9])[a-z0-9@$](?:[.\-_*/|~+][a-z0-9@$]){2,}(?![a-z0-9])")
_SEPARATOR = re.compile(r"[.\-_*/|~+]")

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_HAS_LETTER = re.compile(r"[a-z]")
_LEET_CANDIDATE = re.compile(r"[^\s]*[a-z][^\s]*")
_BANG_IN_WORD = re.compile(r"(?<=[a-z])!(?=[a-z])|^!(?=[a-z])")

_APOSTROPHE_CONTRACTIONS = (
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"\bcan't\b"), "can not"),
    (re.compile(r"\bain't\b"), "am not"),
    (re.compile(r"\bshan't\b"), "shall not"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"'m\b"), " am"),
    (re.compile(r"'re\b"), " are"),
    (re.compile(r"'ve\b"), " have"),
    (re.compile(r"'ll\b"), " will"),
    (re.compile(r"'d\b"), " would"),
    (re.compile(r"\b(it|he|she|that|what|there|who|here|where|how)'s\b"), r"\1 is"),
    (re.compile(r"'s\b"), ""),
)

_CLAUSE_BREAK = re.compile(r"[.!?;,:\n\r()\[\]{}\"]+")
_NOT_WORD = re.compile(r"[^a-z0-9*'\s]+")

# Apostrophe-less and chat spellings. Only unambiguous ones: "ill", "id", "its", "were" and
# "wont" are real words and stay as written.
_TOKEN_EXPANSIONS = {
    "dont": "do not",
    "doesnt": "does not",
    "didnt": "did not",
    "cant": "can not",
    "cannot": "can not",
    "couldnt": "could not",
    "shouldnt": "should not",
    "wouldnt": "would not",
    "isnt": "is not",
    "arent": "are not",
    "wasnt": "was not",
    "werent": "were not",
    "havent": "have not",
    "hasnt": "has not",
    "hadnt": "had not",
    "aint": "am not",
    "im": "i am",
    "ive": "i have",
    "youre": "you are",
    "youve": "you have",
    "youll": "you will",
    "youd": "you would",
    "theyre": "they are",
    "theyve": "they have",
    "thats": "that is",
    "whats": "what is",
    "wanna": "want to",
    "gonna": "going to",
    "gotta": "got to",
    "tryna": "trying to",
    "imma": "i am going to",
    "ima": "i am going to",
    "idk": "i do not know",
    "idc": "i do not care",
    "u": "you",
    "ya": "you",
    "r": "are",
    "ur": "your",
    "2": "to",
    "cuz": "because",
    "coz": "because",
    "bc": "because",
    "rn": "right now",
    "pls": "please",
    "plz": "please",
    "urself": "yourself",
    "myslef": "myself",
    "mysef": "myself",
    "meself": "myself",
    "ppl": "people",
    "nobdy": "nobody",
    "noone": "no one",
    "some1": "someone",
    "any1": "anyone",
    "every1": "everyone",
}
_PHRASE_JOINS = (
    (re.compile(r"\bmy self\b"), "myself"),
    (re.compile(r"\byour self\b"), "yourself"),
    (re.compile(r"\bun alive\b"), "unalive"),
    (re.compile(r"\bsuicide al\b"), "suicidal"),
)

_STRETCHED = re.compile(r"([a-z])\1{2,}")
_SPACED_LETTERS = re.compile(r"(?<![a-z0-9*])(?:[a-z] ){3,}[a-z](?![a-z0-9*])")


@dataclass(frozen=True)
class NormalizedText:
    clauses: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.clauses)


# Emoji people use for death, means and self-harm ("feeling very 🪦⚰️ today"), read as the word
# (in English, whatever the message's language: the rules that read them list both); other
# emoji are dropped with the rest of what is not a word.
_EMOJI_WORDS = str.maketrans(
    {
        "\U0001faa6": " tombstone ",
        "\u26b0": " coffin ",
        "\U0001f52a": " knife ",
        "\U0001f48a": " pills ",
        "\U0001fa78": " blood ",
        "\U0001faa2": " rope ",
    }
)


@lru_cache(maxsize=512)
def normalize(raw: str) -> NormalizedText:
    """Cached: the crisis and toxicity checks of one message share a single normalisation."""
    text = _fold(raw.translate(_EMOJI_WORDS))
    text = _SEPARATED_LETTERS.sub(lambda match: _SEPARATOR.sub("", match.group()), text)
    text = _LEET_CANDIDATE.sub(lambda match: _undo_leet(match.group()), text)
    for pattern, replacement in _APOSTROPHE_CONTRACTIONS:
        text = pattern.sub(replacement, text)
    clauses = (_normalize_clause(piece) for piece in _CLAUSE_BREAK.split(text))
    return NormalizedText(tuple(clause for clause in clauses if clause))


def _fold(raw: str) -> str:
    """Lowercase ASCII: compatibility forms, accents and typographic quotes folded away."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", raw).casefold())
    without_marks = "".join(char for char in decomposed if not unicodedata.combining(char))
    return without_marks.translate(_TYPOGRAPHIC)


def _undo_leet(token: str) -> str:
    """Digits and symbols inside a word are letters in disguise ("k1ll", "$uicide", "b!tch")."""
    token = _BANG_IN_WORD.sub("i", token)
    core = token.rstrip(".,!?;:)\"'")
    return core.translate(_LEET) + token[len(core) :]


def _normalize_clause(clause: str) -> str:
    tokens = []
    for token in _NOT_WORD.sub(" ", clause).replace("'", "").split():
        token = token.strip("*")
        if not token:
            continue
        if "*" in token:
            token = _unmask(token)
        tokens.append(_TOKEN_EXPANSIONS.get(token, token))
    text = " ".join(tokens)
    text = _SPACED_LETTERS.sub(lambda match: match.group().replace(" ", ""), text)
    text = _STRETCHED.sub(r"\1", text)
    for pattern, replacement in _PHRASE_JOINS:
        text = pattern.sub(replacement, text)
    return text


def _unmask(token: str) -> str:
    """ "f*ck" -> "fuck" when exactly one known word fits the mask; otherwise drop the stars."""
    pattern = re.compile(token.replace("*", "[a-z]"))
    candidates = [word for word in _maskable_by_length().get(len(token), ()) if pattern.fullmatch(word)]
    return candidates[0] if len(candidates) == 1 else token.replace("*", "")


@cache
def _maskable_by_length() -> dict[int, tuple[str, ...]]:
    by_length: dict[int, list[str]] = {}
    for word in sorted(load_lexicon().maskable_words()):
        by_length.setdefault(len(word), []).append(word)
    return {length: tuple(words) for length, words in by_length.items()}
