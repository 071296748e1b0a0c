"""Sign-up's password check: common and easily guessed passwords are refused, with advice."""

from __future__ import annotations

import pytest

from backend.passwords import password_problem


@pytest.mark.parametrize(
    "password", ["password", "password123", "qwertyuiop", "summer2024", "aaaaaaaaaaaa", "Password1!"]
)
def test_common_and_patterned_passwords_are_refused_in_words(password: str) -> None:
    problem = password_problem(password, email="sam@example.com", display_name=None)
    assert problem is not None and problem.startswith("This password is too easy to guess.")


def test_the_advice_names_what_is_wrong() -> None:
    assert "top-10 common password" in (password_problem("password", email="sam@example.com", display_name=None) or "")


def test_a_password_made_of_the_sign_ups_own_email_or_name_is_refused() -> None:
    assert password_problem("samantha.k@mail.org", email="samantha.k@mail.org", display_name=None) is not None
    assert password_problem("Samantha Kowalski", email="sk@example.com", display_name="Samantha Kowalski") is not None


@pytest.mark.parametrize(
    "password", ["correct horse battery", "pw-m1abc2de-secret", "kj3#fLq9zP", "x" * 5 + "Tr0ub4dor&3" * 20]
)
def test_hard_to_guess_passwords_pass_even_long_ones(password: str) -> None:
    assert password_problem(password, email="sam@example.com", display_name="Sam") is None
