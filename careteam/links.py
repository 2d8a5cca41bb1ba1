"""Absolute links for emails, built from the configured BASE_URL (no request needed)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeSerializer

# One salt per thing a link turns off: a digest link cannot stop alerts, nor the reverse.
# The digest salt predates the alert one; changing it would break links already mailed.
UNSUBSCRIBE_SALTS = {
    "digests": "careteam-unsubscribe",
    "alerts": "careteam-unsubscribe-alerts",
}


def external_url(endpoint: str, **values: object) -> str:
    """An absolute URL under BASE_URL, from a worker as well as from a request."""
    base = current_app.config["BASE_URL"].rstrip("/")
    with current_app.test_request_context(base_url=base):
        path = url_for(endpoint, **values)  # relative, whatever SERVER_NAME says
    parts = urlsplit(base)  # the path already carries BASE_URL's own prefix, if any
    return f"{parts.scheme}://{parts.netloc}{path}"


def _unsubscribe_serializer(purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALTS[purpose])


def unsubscribe_token(user_id: int, purpose: str = "digests") -> str:
    """A signed token that turns one user's digests (or immediate alerts) off without a login."""
    return _unsubscribe_serializer(purpose).dumps({"u": user_id})


# Where each kind of unsubscribe link leads (careteam/digests/views.py).
UNSUBSCRIBE_ENDPOINTS = {
    "digests": "digests.unsubscribe",
    "alerts": "digests.unsubscribe_alerts",
}


def unsubscribe_url(user_id: int, purpose: str = "digests") -> str:
    """The absolute one-click link that turns one user's digests (or alerts) off."""
    return external_url(UNSUBSCRIBE_ENDPOINTS[purpose], token=unsubscribe_token(user_id, purpose))


def user_id_from_unsubscribe_token(token: str, purpose: str = "digests") -> int | None:
    """The user a token of this purpose was made for; None if forged or of another purpose."""
    try:
        data = _unsubscribe_serializer(purpose).loads(token)
    except BadSignature:
        return None
    user_id = data.get("u") if isinstance(data, dict) else None
    return user_id if isinstance(user_id, int) else None
