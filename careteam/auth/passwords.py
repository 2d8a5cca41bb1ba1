"""Password rules (length, then strength by zxcvbn) and the form validator that applies them.

The rules follow ASVS 2.1 and NIST SP 800-63B: 12 to 128 characters of any kind, no
composition rules, and a refusal for common or easily guessed passwords. Passwords are
NFKC-normalised before they are checked, hashed or verified, so that the same characters
typed on another keyboard or system give the same password.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from flask import request
from wtforms.validators import ValidationError
from zxcvbn import zxcvbn

from careteam.errors import UserFacingError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
MIN_SCORE = 3
# zxcvbn's cost grows steeply with length (a random 72-character string takes ~0.7 s, 128
# characters over a second), so longer passwords are judged by their first and last
# ESTIMATE_WINDOW characters: one strong stretch of that length is a strong password.
ESTIMATE_WINDOW = 48
LABELS = ("too weak", "weak", "fair", "strong", "very strong")
# Words anyone would try first against this site's accounts.
SITE_WORDS = ("careteam", "care team", "care", "team")
# The name of the submit button that checks strength without saving (no-JS meter).
CHECK_BUTTON = "check_strength"
HOW_TO = "A few unrelated words make a strong password that is easy to remember."


def normalize(password: str) -> str:
    """The form of a password that is checked and hashed (Unicode NFKC)."""
    return unicodedata.normalize("NFKC", password)


class AccountError(UserFacingError):
    """An account use case refused its input (a weak password, a taken address...)."""


@dataclass(frozen=True)
class Strength:
    """What the meter shows: a zxcvbn score 0-4, its label and what to do about it."""

    score: int
    acceptable: bool
    message: str = ""
    suggestions: tuple[str, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        return LABELS[self.score]

    def as_json(self) -> dict:
        return {
            "score": self.score,
            "label": self.label,
            "acceptable": self.acceptable,
            "message": self.message,
            "suggestions": list(self.suggestions),
        }


def _guessable_words(user_inputs: Iterable[str]) -> list[str]:
    """The person's own details, split as people use them (jane.doe@x.org -> jane, doe)."""
    words: list[str] = []
    for value in user_inputs:
        if not value:
            continue
        value = normalize(value).lower()[:254]
        words.append(value)
        local = value.split("@", 1)[0]
        for separator in ".-_+ ":
            local = local.replace(separator, " ")
        words.extend(part for part in local.split() if len(part) > 2)
        words.extend(part for part in value.split() if len(part) > 2)
    return [*words, *SITE_WORDS]


def strength(password: str, *, user_inputs: Iterable[str] = ()) -> Strength:
    """How guessable a password is, and whether the rules accept it.

    Length is checked first: zxcvbn never sees more than MAX_PASSWORD_LENGTH characters.
    """
    password = normalize(password)
    if len(password) > MAX_PASSWORD_LENGTH:
        return Strength(
            score=0,
            acceptable=False,
            message=f"Use at most {MAX_PASSWORD_LENGTH} characters. "
            "Shorten it; a few words are plenty.",
        )
    result = _estimate(password, _guessable_words(user_inputs))
    score = int(result["score"])
    warning = result["feedback"].get("warning") or ""
    suggestions = tuple(result["feedback"].get("suggestions") or ())
    if len(password) < MIN_PASSWORD_LENGTH:
        return Strength(
            score=min(score, 1),
            acceptable=False,
            message=f"Use at least {MIN_PASSWORD_LENGTH} characters. "
            f"This one has {len(password)}. {HOW_TO}",
            suggestions=suggestions,
        )
    common = _is_common(result)
    if common or score < MIN_SCORE:
        reason = (
            "This is a common password, or close to one: attackers try those first."
            if common
            else "This password would be easy to guess"
            + (f": {warning[0].lower()}{warning[1:]}" if warning else ".")
        )
        return Strength(
            score=min(score, MIN_SCORE - 1),
            acceptable=False,
            message=f"{reason} Choose another one. {HOW_TO}",
            suggestions=suggestions,
        )
    return Strength(score=score, acceptable=True, suggestions=suggestions)


def _is_common(result: dict) -> bool:
    return "common" in (result["feedback"].get("warning") or "").lower()


def _estimate(password: str, words: list[str]) -> dict:
    """zxcvbn's verdict on the password, or on its best window when it is long."""
    if len(password) <= ESTIMATE_WINDOW:
        return zxcvbn(password, user_inputs=words, max_length=ESTIMATE_WINDOW)
    first = zxcvbn(password[:ESTIMATE_WINDOW], user_inputs=words, max_length=ESTIMATE_WINDOW)
    if first["score"] >= MIN_SCORE and not _is_common(first):
        return first
    last = zxcvbn(password[-ESTIMATE_WINDOW:], user_inputs=words, max_length=ESTIMATE_WINDOW)
    return last if last["score"] >= MIN_SCORE and not _is_common(last) else first


def check_password(password: str, *, user_inputs: Iterable[str] = ()) -> None:
    """Refuse a password that breaks the rules, with a plain sentence saying what to do.

    Raises AccountError (field "password").
    """

    verdict = strength(password, user_inputs=user_inputs)
    if not verdict.acceptable:
        raise AccountError(verdict.message, field="password")


def strength_check_requested() -> bool:
    """True when the form was sent with the "Check strength" button: show, do not save."""
    return CHECK_BUTTON in request.form


class StrongPassword:
    """WTForms validator: the field must pass check_password.

    Other fields of the same form named in ``user_fields`` (email, display name...) count
    as guessable words. Extra words (for example the email of the account whose password
    is reset) can be given per form instance through ``form.password_user_inputs``.
    The verdict is left on ``field.strength`` for the meter (templates/auth/_password.html).
    """

    def __init__(self, user_fields: Iterable[str] = ("email", "display_name")) -> None:
        self.user_fields = tuple(user_fields)

    def __call__(self, form, field) -> None:
        if not field.data:
            return
        inputs = list(getattr(form, "password_user_inputs", ()))
        for name in self.user_fields:
            other = getattr(form, name, None)
            if other is not None and isinstance(other.data, str) and other.data:
                inputs.append(other.data)
        verdict = strength(field.data, user_inputs=inputs)
        field.strength = verdict
        if not verdict.acceptable:
            raise ValidationError(verdict.message)
