"""TOTP two-factor authentication: policy, enrolment, recovery codes and code checks.

Secrets at rest: the TOTP secret is what an attacker needs to mint codes, so a copy
of the database (a backup, a replica, a stolen dump) must not be enough. Each secret
is stored as a Fernet token (AES-128-CBC with HMAC-SHA256) under a key derived with
HKDF-SHA256 from TWO_FACTOR_ENCRYPTION_KEY, or from SECRET_KEY when that is unset.
An operator who rotates SECRET_KEY sets TWO_FACTOR_ENCRYPTION_KEY to the old value
first, or everyone re-enrols. Secrets and codes never reach logs or audit rows.

Recovery codes are 16 characters from a 32-letter alphabet (80 random bits), so a
plain SHA-256 is enough to keep them: unlike a password, a code cannot be guessed
from a dictionary, and 2^80 hashes are out of reach for a stolen table. A slow
hash (argon2) would only cost each login a second per stored code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import NoReturn

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from markupsafe import Markup
from sqlalchemy import delete, func, or_, select, update

from careteam import audit
from careteam.auth import throttle
from careteam.auth.models import User
from careteam.auth.two_factor_models import RecoveryCode, TwoFactorCredential
from careteam.enums import AuditOutcome, Role
from careteam.errors import UserFacingError
from careteam.extensions import db, utcnow

STEP_SECONDS = 30  # RFC 6238 defaults, what every authenticator app expects
DIGITS = 6
VALID_WINDOW = 1  # one step either side: clocks drift and people type slowly
RECOVERY_CODE_COUNT = 10
QR_SCALE = 4  # px per module at the natural size: big enough for any phone camera
RECOVERY_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 letters, no 0/O or 1/I
RECOVERY_CODE_LENGTH = 16  # 16 x 5 bits = 80 bits
LOCKED_MESSAGE = (
    "Too many wrong attempts: your account is locked for a while. Try again later, "
    "or ask an administrator to unlock it."
)
_HKDF_INFO = b"careteam two-factor secrets v1"


class TwoFactorError(UserFacingError):
    """A two-factor use case refused its input (a wrong code, a policy)."""


class TwoFactorLocked(TwoFactorError):
    """Too many wrong codes: no code is checked until the lockout ends."""


@dataclass(frozen=True)
class Enrolment:
    """What the enrolment page shows: the secret for manual entry and its QR code."""

    secret: str
    uri: str
    qr_svg: Markup


# Policy


def _flag(value: object) -> bool:
    """A config flag that may come from the environment as text ("false", "0", "off")."""
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def required_for(user: User) -> bool:
    """Whether this user must use two-factor authentication (admins always)."""
    if user.role == Role.ADMIN:
        return True
    if user.role == Role.PROVIDER:
        return _flag(current_app.config["TWO_FACTOR_REQUIRED_FOR_PROVIDERS"])
    return False


def credential_for(user: User) -> TwoFactorCredential | None:
    return db.session.get(TwoFactorCredential, user.id)


def is_enrolled(user: User) -> bool:
    """Whether the user has a confirmed TOTP credential."""
    credential = credential_for(user)
    return credential is not None and credential.confirmed_at is not None


def password_accepted(user: User) -> None:
    """The first login step passed: audited, committed with any rehash of the password
    that authenticate made; the code is asked next."""
    audit.record(
        "login",
        object_type="user",
        object_id=user.id,
        actor=user,
        detail="password accepted, code pending",
    )
    db.session.commit()


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )


# Secrets at rest


def _fernet() -> Fernet:
    material = (
        current_app.config.get("TWO_FACTOR_ENCRYPTION_KEY") or current_app.config["SECRET_KEY"]
    )
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        material.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def _encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def _decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as error:
        # The key changed (SECRET_KEY rotated without TWO_FACTOR_ENCRYPTION_KEY).
        raise RuntimeError(
            "a two-factor secret cannot be decrypted with the current key"
        ) from error


# Enrolment


def begin_enrolment(*, user: User) -> Enrolment:
    """The pending secret to show (a new one the first time); refused once enrolled.

    Reloading the page shows the same secret, so that a scan already made stays valid.
    """
    credential = credential_for(user)
    if credential is not None and credential.confirmed_at is not None:
        raise TwoFactorError("Two-factor authentication is already set up.")
    if credential is None:
        credential = TwoFactorCredential(
            user_id=user.id, secret_encrypted=_encrypt(pyotp.random_base32())
        )
        db.session.add(credential)
        db.session.commit()
    secret = _decrypt(credential.secret_encrypted)
    uri = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=user.email, issuer_name=current_app.config["TWO_FACTOR_ISSUER"]
    )
    return Enrolment(secret=secret, uri=uri, qr_svg=qr_svg(uri))


def qr_svg(uri: str) -> Markup:
    """The otpauth URI as an inline SVG QR code (drawn here: no network, no script)."""
    qr = segno.make(uri, error="m")
    width, height = qr.symbol_size(scale=QR_SCALE)  # the quiet zone included
    # omitsize gives the SVG a viewBox instead of a fixed width and height, so that CSS
    # may shrink it (max-width on a phone) without clipping: a long address makes a
    # bigger symbol, and a clipped one loses finder patterns and no longer scans. The
    # natural size (QR_SCALE px a module) goes back on as attributes for the layout.
    svg = qr.svg_inline(
        scale=QR_SCALE,
        dark="#000",
        light="#fff",
        title="QR code for your authenticator app",
        omitsize=True,
    )
    svg = svg.replace(
        "<svg ",
        f'<svg width="{width}" height="{height}" shape-rendering="crispEdges" ',
        1,
    )
    # segno draws only paths from the URI (never its text) plus our fixed title.
    return Markup(svg)  # noqa: S704  # nosec B704


def confirm_enrolment(*, user: User, code: str) -> list[str]:
    """Turn the pending secret on with a current code; returns the new recovery codes."""
    credential = credential_for(user)
    if credential is None or credential.confirmed_at is not None:
        raise TwoFactorError("Start setting up two-factor authentication again.")
    _check_totp_or_fail(user, credential, code, action="enable_two_factor")
    credential.confirmed_at = utcnow()
    codes = _replace_recovery_codes(user)
    # Sessions opened with the password alone end; this one carries on.
    from careteam.auth.services import revoke_other_sessions

    revoke_other_sessions(user)
    audit.record("enable_two_factor", object_type="user", object_id=user.id, actor=user)
    db.session.commit()
    return codes


def regenerate_recovery_codes(*, user: User, code: str) -> list[str]:
    """Replace every recovery code after a current authenticator code."""
    credential = _confirmed(user)
    _check_totp_or_fail(user, credential, code, action="regenerate_recovery_codes")
    codes = _replace_recovery_codes(user)
    audit.record("regenerate_recovery_codes", object_type="user", object_id=user.id, actor=user)
    db.session.commit()
    return codes


def disable(*, user: User, code: str) -> None:
    """Turn two-factor off after a current code or a recovery code.

    For a user the policy requires it of, this is "set up again" (a new phone): the
    enrolment guard then holds them on the enrolment page until they have enrolled anew.
    """
    credential = _confirmed(user)
    action = "reset_two_factor" if required_for(user) else "disable_two_factor"
    normalized = _normalize(code)
    if len(normalized) == DIGITS and normalized.isdigit():
        _check_totp_or_fail(user, credential, normalized, action=action)
    else:
        _refuse_if_locked(user, action=action)
        if not _use_recovery_code(user, normalized):
            _fail(user, action=action, detail="wrong recovery code")
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.delete(credential)
    audit.record(action, object_type="user", object_id=user.id, actor=user)
    db.session.commit()


def enrolled_ids(user_ids: list[int]) -> set[int]:
    """Which of these users have two-factor set up (one query, for a list page)."""
    if not user_ids:
        return set()
    return set(
        db.session.scalars(
            select(TwoFactorCredential.user_id).where(
                TwoFactorCredential.user_id.in_(user_ids),
                TwoFactorCredential.confirmed_at.is_not(None),
            )
        )
    )


def admin_reset(*, actor: User, user: User) -> None:
    """An admin clears someone's two-factor after checking who they are out of band.

    For someone who lost both the phone and the recovery codes. Every session of theirs
    ends; at the next login a user who must use two-factor is held on the enrolment page.
    """
    from careteam.auth.services import revoke_all_sessions

    if user.id == actor.id:
        raise TwoFactorError("Reset your own two-factor under Settings, with a code.")
    credential = credential_for(user)
    if credential is None:
        raise TwoFactorError("This account has no two-factor to reset.")
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.delete(credential)
    revoke_all_sessions(user)
    audit.record("admin_reset_two_factor", object_type="user", object_id=user.id, actor=actor)
    db.session.commit()


def _confirmed(user: User) -> TwoFactorCredential:
    credential = credential_for(user)
    if credential is None or credential.confirmed_at is None:
        raise TwoFactorError("Two-factor authentication is not set up.")
    return credential


def _replace_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_code_hash(c)) for c in codes)
    return [format_recovery_code(c) for c in codes]


def format_recovery_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def _normalize(code: str) -> str:
    return "".join(code.split()).replace("-", "").upper()


def _code_hash(normalized: str) -> str:
    return hashlib.sha256(normalized.encode()).hexdigest()


# Checking codes


def verify_login(*, user: User, code: str) -> str:
    """The second login step: a current code or an unused recovery code.

    Returns "authenticator app" or "recovery code"; raises TwoFactorError for a wrong
    code and TwoFactorLocked while the user is locked out. The caller starts the session.
    """
    credential = _confirmed(user)
    normalized = _normalize(code)
    if len(normalized) == DIGITS and normalized.isdigit():
        _check_totp_or_fail(user, credential, normalized, action="two_factor_login")
        audit.record(
            "two_factor_login",
            object_type="user",
            object_id=user.id,
            actor=user,
            detail="authenticator app",
        )
        db.session.commit()
        return "authenticator app"
    _refuse_if_locked(user, action="two_factor_login")
    if not _use_recovery_code(user, normalized):
        _fail(user, action="two_factor_login", detail="wrong recovery code")
    left = recovery_codes_left(user)
    audit.record(
        "two_factor_login",
        object_type="user",
        object_id=user.id,
        actor=user,
        detail=f"recovery code, {left} left",
    )
    db.session.commit()
    return "recovery code"


def _use_recovery_code(user: User, normalized: str) -> bool:
    if len(normalized) != RECOVERY_CODE_LENGTH:
        return False
    code_id = db.session.scalar(
        select(RecoveryCode.id).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _code_hash(normalized),
            RecoveryCode.used_at.is_(None),
        )
    )
    if code_id is None:
        return False
    # Conditional update: of two requests racing with the same code, one wins.
    used = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == code_id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    return used.rowcount == 1


def _check_totp_or_fail(
    user: User, credential: TwoFactorCredential, code: str, *, action: str
) -> None:
    _refuse_if_locked(user, action=action)
    step = _matching_step(_decrypt(credential.secret_encrypted), _normalize(code))
    if step is None:
        _fail(user, action=action, detail="wrong code")
    # Replay guard: a step at or before the last accepted one is refused, and the
    # conditional update makes two requests racing with one code accept it only once.
    accepted = db.session.execute(
        update(TwoFactorCredential)
        .where(
            TwoFactorCredential.user_id == user.id,
            or_(
                TwoFactorCredential.last_used_step.is_(None),
                TwoFactorCredential.last_used_step < step,
            ),
        )
        .values(last_used_step=step)
        .execution_options(synchronize_session="fetch")
    )
    if accepted.rowcount != 1:
        _fail(user, action=action, detail="code already used")


def _matching_step(secret: str, code: str) -> int | None:
    """The time step within the window whose code this is, or None."""
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    now_step = int(time.time()) // STEP_SECONDS
    found = None
    for step in range(now_step - VALID_WINDOW, now_step + VALID_WINDOW + 1):
        # Every step is compared (no early exit), in constant time.
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            found = step
    return found


def _refuse_if_locked(user: User, *, action: str) -> None:
    if throttle.is_locked(user):
        audit.record(
            action,
            object_type="user",
            object_id=user.id,
            actor=user,
            outcome=AuditOutcome.DENIED,
            detail="locked out",
        )
        db.session.commit()
        raise TwoFactorLocked(LOCKED_MESSAGE)


def _fail(user: User, *, action: str, detail: str) -> NoReturn:
    """Count a wrong code towards the account's lockout, audit, commit and raise.

    Wrong passwords and wrong codes share one count (careteam/auth/throttle.py), so
    guessing codes locks the account as guessing passwords does.
    """
    locked = throttle.record_failure(user)
    audit.record(
        action,
        object_type="user",
        object_id=user.id,
        actor=user,
        outcome=AuditOutcome.DENIED,
        detail=f"{detail}; locked out" if locked else detail,
    )
    db.session.commit()
    if locked:
        raise TwoFactorLocked(LOCKED_MESSAGE)
    raise TwoFactorError(
        "That code is not right, or it was already used. Enter the code your app shows now.",
        field="code",
    )


def enrol_known_secret(*, user: User, secret: str) -> None:
    """Enrol a user with a given secret, confirmed, without recovery codes.

    For demo accounts and tests only: the secret is not random, so the caller must
    make sure it is public on purpose (the demo) or never leaves a test.
    """
    db.session.merge(
        TwoFactorCredential(
            user_id=user.id,
            secret_encrypted=_encrypt(secret),
            confirmed_at=utcnow(),
        )
    )
