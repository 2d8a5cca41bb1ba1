"""The JSON API under /api/v1: resources over the same use cases and access policy as the
web pages.

blueprint.py creates the blueprint; each resource registers its routes on it and holds its
Pydantic models: me.py (the token holder), clients.py, entries/ (the timeline and its
entries), goals.py and document.py (the OpenAPI document and its reference page). The
plumbing they use stays apart: auth.py (tokens), idempotency.py, problems.py (errors as
problem documents) and openapi.py (validation and the document).
"""

from __future__ import annotations

from flask import Flask, current_app


def _rate_limit() -> str:
    return current_app.config["RATELIMIT_API_PER_TOKEN"]


def init_app(app: Flask) -> None:
    """Register the API on the app, with its CSRF exemption, its rate limit and its errors."""
    # Importing a resource registers its routes on the blueprint.
    from careteam.api import clients, document, goals, me, problems  # noqa: F401
    from careteam.api.auth import rate_limit_key
    from careteam.api.blueprint import bp
    from careteam.api.entries import amendments, reads, writes  # noqa: F401
    from careteam.extensions import csrf, limiter

    # Tokens, not cookies, authenticate the API (auth.py): CSRF cannot apply.
    csrf.exempt(bp)
    # Per token; the same function objects each time, so a second app adds no second limit.
    limiter.limit(_rate_limit, key_func=rate_limit_key)(bp)
    app.register_blueprint(bp)
    problems.init_app(app)
