"""Password rules (length, then strength) and the form validator that applies them."""

from __future__ import annotations

from collections.abc import Iterable

from wtforms.validators import ValidationError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128


def check_password(password: str, *, user_inputs: Iterable[str] = ()) -> None:
    """Refuse a password that breaks the rules, with a plain sentence saying what to do."""
    from careteam.auth.services import AccountError

    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"Use at most {MAX_PASSWORD_LENGTH} characters.")


class StrongPassword:
    """WTForms validator: the field must pass check_password.

    Other fields of the same form named in ``user_fields`` (email, display name...)
    count as guessable words, so "jane.doe@example.org" is not a strong password for Jane.
    """

    def __init__(self, user_fields: Iterable[str] = ("email", "display_name")) -> None:
        self.user_fields = tuple(user_fields)

    def __call__(self, form, field) -> None:
        from careteam.auth.services import AccountError

        if not field.data:
            return
        inputs = []
        for name in self.user_fields:
            other = getattr(form, name, None)
            if other is not None and isinstance(other.data, str) and other.data:
                inputs.append(other.data)
        try:
            check_password(field.data, user_inputs=inputs)
        except AccountError as error:
            raise ValidationError(str(error)) from None
