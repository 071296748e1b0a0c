"""Which language a chat message is written in, among those the safety layer answers in.

The crisis reply must be in the person's language, and the choice has to be right on two-word
messages ("quiero morir") as well as long ones, in a millisecond, with no model to load. A
general language identifier (langdetect, fastText's lid.176) is unreliable on a few words
and would be one more model to ship, while we only need to tell the languages we have replies
for apart from English; so we count each language's most frequent function words and its
distinctive letters. Anything that is not clearly one of them is English, whose replies and
lines are the most complete.
"""

from __future__ import annotations

import re
import unicodedata

DEFAULT = "en"

_WORD = re.compile(r"[a-zñáéíóúü]+")
# Frequent words of each language that are not (or rarely) words of the others.
_MARKERS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "i im i'm me my myself you the and is are was be been to of it this that what with have "
        "just dont can't cant want not no so but do know feel like anymore about would will".split()
    ),
    "es": frozenset(
        "yo me mi mis tu te que el la los las un una es estoy esta estar soy ser de del en y por "
        "para con sin pero ya nada todo todos nadie quiero puedo tengo hacer vida morir muerte "
        "mejor mas más cuando porque como qué aqui aquí hoy noche siento ganas dolor solo sola "
        "vos sos tenés querés podés nomas nomás chao adios adiós gracias mama mamá papa papá "
        "hermano hermana amigo amiga novio novia pastillas matarme morirme quitarme cortarme".split()
    ),
}
_SPANISH_LETTERS = re.compile(r"[ñ¿¡]|[áéíóú]")


def detect_language(text: str) -> str:
    """``"es"`` or ``"en"`` (the default when the text gives no clear sign)."""
    lowered = text.lower()
    words = _WORD.findall(lowered)
    folded = [_fold(word) for word in words]
    scores = {
        language: sum(1 for word, plain in zip(words, folded, strict=True) if word in markers or plain in markers)
        for language, markers in _MARKERS.items()
    }
    scores["es"] += 2 * len(_SPANISH_LETTERS.findall(lowered))
    return "es" if scores["es"] > scores["en"] else DEFAULT


def _fold(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))
