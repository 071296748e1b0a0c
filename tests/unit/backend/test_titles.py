"""A conversation's title from its first message: short, on one line, cut at a word, deterministic."""

from __future__ import annotations

import pytest

from backend.titles import TITLE_CHARS, title_from_message


@pytest.mark.parametrize(
    ("message", "title"),
    [
        ("I had a long day at work.", "I had a long day at work"),
        ("Hello!!", "Hello"),
        ("Why do I always feel so tired in the mornings, even after sleeping?", "Why do I always feel so tired…"),
        ("line one\nline two\r\n\tthree", "line one line two three"),
        ("— well... I guess so —", "well... I guess so"),
        ("a\u200bb\x07c \u202eturned", "ab c turned"),
        ("😢😢", "😢😢"),
        ("👨\u200d👩\u200d👧 family day", "👨\u200d👩\u200d👧 family day"),
        ("I feel (sad)", "I feel (sad)"),
    ],
)
def test_a_title_is_the_first_words_on_one_line_without_trailing_punctuation(message: str, title: str) -> None:
    assert title_from_message(message) == title


def test_a_long_message_is_cut_at_a_word_and_says_so() -> None:
    title = title_from_message(
        "Supercalifragilisticexpialidocious antidisestablishmentarianism floccinaucinihilipilification"
    )
    assert title == "Supercalifragilisticexpialidocious…"
    link = title_from_message("https://example.com/" + "a" * 200)
    assert link is not None and len(link) == TITLE_CHARS + 1 and link.endswith("…")


@pytest.mark.parametrize("message", ["", "   \n\t", "...", "?!"])
def test_a_message_without_a_word_gives_no_title(message: str) -> None:
    assert title_from_message(message) is None
