"""Absolute links for emails, built from the configured BASE_URL (no request needed)."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from flask import Flask, current_app
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.routing import MapAdapter

# One salt per thing a link turns off: a digest link cannot stop alerts, nor the reverse.
# The digest salt predates the alert one; changing it would break links already mailed.
UNSUBSCRIBE_SALTS = {
    "digests": "careteam-unsubscribe",
    "alerts": "careteam-unsubscribe-alerts",
}


def external_url(endpoint: str, **values: object) -> str:
    """An absolute URL under BASE_URL, from a worker as well as from a request.

    `_anchor` adds a fragment, as url_for does. The URL map is bound to BASE_URL once per
    app and base: a test request context per link cost about 0.6 ms, three links a digest.
    """
    anchor = values.pop("_anchor", None)
    origin, adapter = _bound(current_app._get_current_object(), current_app.config["BASE_URL"])
    # Relative: the map was bound under BASE_URL's own path prefix, if any.
    url = origin + adapter.build(endpoint, values)
    return url if anchor is None else f"{url}#{quote(str(anchor), safe=ANCHOR_SAFE)}"


# What url_for leaves unquoted in an anchor.
ANCHOR_SAFE = "%!#$&'()*+,/:;=?@"


def _bound(app: Flask, base_url: str) -> tuple[str, MapAdapter]:
    """BASE_URL's scheme://host[:port], and the app's URL map bound under it (kept)."""
    cache = app.extensions.setdefault("external_url_adapters", {})
    bound = cache.get(base_url)
    if bound is None:
        parts = urlsplit(base_url.rstrip("/"))
        adapter = app.url_map.bind(
            parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme
        )
        bound = cache[base_url] = (f"{parts.scheme}://{parts.netloc}", adapter)
    return bound


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
