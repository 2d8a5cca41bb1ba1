"""Who is calling the API: a personal access token in the Authorization header.

Runs before every request of the "api" and "fhir" blueprints, ahead of the views and of
the two-factor enrolment check. The API never accepts the browser's session cookie (a
cookie-authenticated JSON POST would bypass CSRF protection); the FHIR export accepts it
for GET so that a logged-in client can download their own record.
"""

from __future__ import annotations

import hashlib

from flask import g, request

from careteam.access import READ_METHODS
from careteam.api.problems import ApiProblem
from careteam.auth import tokens

TOKEN_BLUEPRINTS = frozenset({"api", "fhir"})
# Readable without a token: the API's description of itself.
PUBLIC_ENDPOINTS = frozenset({"api.openapi_document", "api.reference"})
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="careteam"'}


def bearer_secret() -> str | None:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


def authenticate_request() -> None:
    """before_request: make the token's user the current user, or refuse with 401/403."""
    if request.blueprint not in TOKEN_BLUEPRINTS:
        return
    header = request.headers.get("Authorization")
    if header is None and (
        request.endpoint in PUBLIC_ENDPOINTS
        or (request.blueprint == "fhir" and request.method in READ_METHODS)
    ):
        return  # the view decides (FHIR: a logged-in browser session, or 401)
    secret = bearer_secret()
    if secret is None:
        raise ApiProblem(
            401,
            "Send a personal access token: Authorization: Bearer <token>. "
            "Create one under Settings > API tokens.",
            headers=CHALLENGE,
        )
    token = tokens.authenticate(secret)
    if token is None:
        raise ApiProblem(
            401,
            "This token is not valid: it is unknown, revoked or expired, or its account "
            "was deactivated.",
            headers={"WWW-Authenticate": 'Bearer realm="careteam", error="invalid_token"'},
        )
    g.api_token = token
    # Flask-Login's current_user is read from g._login_user: the token's user for this
    # request only. Nothing is written to the session, so no cookie is set.
    g._login_user = token.user
    if request.method not in READ_METHODS and not token.may_write:
        raise ApiProblem(
            403,
            "This token is read-only. Create a read-and-write token to make changes.",
            headers={"WWW-Authenticate": 'Bearer realm="careteam", error="insufficient_scope"'},
        )


def rate_limit_key() -> str:
    """Rate limits count per token (by a hash of it), or per address without one."""
    secret = bearer_secret()
    if secret:
        return "api-token:" + hashlib.sha256(secret.encode()).hexdigest()[:32]
    return "api-ip:" + (request.remote_addr or "")
