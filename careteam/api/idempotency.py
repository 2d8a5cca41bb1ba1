"""Idempotency-Key for POST: the same key and body within 24 hours gets the first response.

A client that timed out cannot know whether its note was saved; retrying with the same
key is safe. Keys are per user. The first request claims the key with a row (a unique
constraint settles two racing requests), runs, and stores its response if it succeeded;
a failed request frees the key so that a corrected retry can use it. A different request
under a used key is refused (422), one while the first still runs gets 409.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from flask import Response, current_app, request
from flask_login import current_user
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from careteam import audit
from careteam.api.models import IdempotentResponse
from careteam.api.problems import ApiProblem
from careteam.extensions import db, utcnow

HEADER = "Idempotency-Key"
KEY_MAX = 255
# A claim older than this without a response belongs to a request that died (worker
# killed mid-request); the key may then be used again.
ABANDONED_AFTER = timedelta(minutes=2)
REPLAYED_HEADERS = ("Location", "Content-Type")


def _key() -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not 0 < len(key) <= KEY_MAX or not key.isascii() or not key.isprintable():
        raise ApiProblem(
            400, f"{HEADER} must be 1 to {KEY_MAX} printable ASCII characters (e.g. a UUID)."
        )
    return key


def _fingerprint() -> str:
    body = request.get_data(cache=True)
    with contextlib.suppress(ValueError):  # the same JSON whatever the spacing or key order
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def once(run: Callable[[], Response]) -> Response:
    """Run a POST at most once per Idempotency-Key (or always, without the header)."""
    key = _key()
    if key is None:
        return run()
    user_id = current_user.id
    fingerprint = _fingerprint()
    now = utcnow()
    row = db.session.scalar(
        select(IdempotentResponse).where(
            IdempotentResponse.user_id == user_id, IdempotentResponse.key == key
        )
    )
    if row is not None and (
        row.expires_at <= now
        or (row.status_code is None and now - row.created_at > ABANDONED_AFTER)
    ):
        db.session.delete(row)
        db.session.flush()
        row = None
    if row is not None:
        return _answer_again(row, fingerprint)
    claim = IdempotentResponse(
        user_id=user_id,
        key=key,
        fingerprint=fingerprint,
        created_at=now,
        expires_at=now + current_app.config["IDEMPOTENCY_TTL"],
    )
    db.session.add(claim)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ApiProblem(
            409, f"A request with this {HEADER} is still running. Retry in a moment."
        ) from None
    claim_id = claim.id
    try:
        response = run()
    except BaseException:
        db.session.rollback()
        _release(claim_id)
        raise
    if 200 <= response.status_code < 300:
        stored = db.session.get(IdempotentResponse, claim_id)
        stored.status_code = response.status_code
        stored.body = response.get_data()
        stored.headers = json.dumps(
            {name: response.headers[name] for name in REPLAYED_HEADERS if name in response.headers}
        )
        db.session.commit()
    else:
        _release(claim_id)
    return response


def _release(claim_id: int) -> None:
    db.session.execute(delete(IdempotentResponse).where(IdempotentResponse.id == claim_id))
    db.session.commit()


def _answer_again(row: IdempotentResponse, fingerprint: str) -> Response:
    if row.fingerprint != fingerprint:
        raise ApiProblem(
            422,
            f"This {HEADER} was already used for a different request. Use a new key for a "
            "new request.",
        )
    if row.status_code is None:
        raise ApiProblem(409, f"A request with this {HEADER} is still running. Retry in a moment.")
    # The stored response holds what was created: reading it again is audited like a read.
    audit.record("replay_idempotent_response", object_type="idempotency_key", object_id=row.id)
    db.session.commit()
    response = current_app.response_class(row.body, status=row.status_code)
    for name, value in json.loads(row.headers or "{}").items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    response.headers["Cache-Control"] = "no-store"
    return response


def purge_expired() -> int:
    """Delete kept responses past their 24 hours (beat task); returns how many."""
    result = db.session.execute(
        delete(IdempotentResponse).where(IdempotentResponse.expires_at <= utcnow())
    )
    db.session.commit()
    return result.rowcount or 0
