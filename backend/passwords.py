"""How hard a new password is to guess, by zxcvbn (Dropbox's estimator, maintained on PyPI).

zxcvbn matches a password against lists of the most common passwords, English words, names and
keyboard patterns, and the sign-up's own email and display name; it scores the guesses an
attacker would need from 0 to 4. Sign-up needs at least ``MIN_SCORE``: "password", "password123"
and "summer2024" are refused, a few unrelated words pass.
"""

from __future__ import annotations

from zxcvbn import zxcvbn

MIN_SCORE = 3  # zxcvbn's "safely unguessable: moderate protection from an offline slow-hash attack"
# zxcvbn refuses longer input (its matching grows quickly with length); the prefix decides.
SCORED_CHARS = 72


def password_problem(password: str, *, email: str, display_name: str | None) -> str | None:
    """Why ``password`` is too easy to guess, in words for the person choosing it; None if it is not."""
    known = [email, email.split("@")[0], *([display_name] if display_name else [])]
    result = zxcvbn(password[:SCORED_CHARS], user_inputs=known)
    if result["score"] >= MIN_SCORE:
        return None
    feedback = result["feedback"]
    advice = " ".join([feedback["warning"], *feedback["suggestions"]]).strip()
    return f"This password is too easy to guess. {advice or 'Make it longer, with a few unrelated words.'}"
