"""Absolute links for emails, built from the configured BASE_URL (no request needed)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeSerializer


def external_url(endpoint: str, **values: object) -> str:
    """An absolute URL under BASE_URL, from a worker as well as from a request."""
    base = current_app.config["BASE_URL"].rstrip("/")
    with current_app.test_request_context(base_url=base):
        path = url_for(endpoint, **values)  # relative, whatever SERVER_NAME says
    parts = urlsplit(base)  # the path already carries BASE_URL's own prefix, if any
    return f"{parts.scheme}://{parts.netloc}{path}"


def _unsubscribe_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="careteam-unsubscribe")


def unsubscribe_token(user_id: int) -> str:
    """A signed token that turns one user's digests off without a login."""
    return _unsubscribe_serializer().dumps({"u": user_id})


def user_id_from_unsubscribe_token(token: str) -> int | None:
    try:
        data = _unsubscribe_serializer().loads(token)
    except BadSignature:
        return None
    user_id = data.get("u") if isinstance(data, dict) else None
    return user_id if isinstance(user_id, int) else None
