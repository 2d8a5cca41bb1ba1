"""The API's blueprint, the token holder's own resources, and the API's own description."""

from __future__ import annotations

from flask import Blueprint, current_app, g, render_template
from flask_login import current_user

from careteam.api.auth import rate_limit_key
from careteam.api.openapi import build_document, operation
from careteam.api.schemas import DigestPreferences, DigestPreferencesIn, MeOut, TokenOut
from careteam.digests import services as digests
from careteam.extensions import csrf, db, limiter

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Tokens, not cookies, authenticate the API (careteam/api/auth.py): CSRF cannot apply.
csrf.exempt(bp)


def _api_rate_limit() -> str:
    return current_app.config["RATELIMIT_API_PER_TOKEN"]


limiter.limit(_api_rate_limit, key_func=rate_limit_key)(bp)


@bp.get("/openapi.json")
@operation(
    summary="This API's OpenAPI 3.1 document", responses={200: None}, tags=["API"], public=True
)
def openapi_document():
    return current_app.json.response(_document())


def _document() -> dict:
    """The document, built once per app (the routes do not change after start-up)."""
    document = current_app.extensions.get("careteam_openapi")
    if document is None:
        document = current_app.extensions["careteam_openapi"] = build_document(current_app)
    return document


@bp.get("/docs")
@operation(
    summary="A readable reference of this API (HTML)",
    responses={200: None},
    tags=["API"],
    public=True,
)
def reference():
    return render_template("api/reference.html", doc=_document())


def _me() -> MeOut:
    from careteam.portal.services import own_client_id

    token = g.api_token
    return MeOut(
        id=current_user.id,
        email=current_user.email,
        display_name=current_user.display_name,
        role=current_user.role,
        discipline=current_user.discipline,
        credentials=current_user.credentials,
        time_zone=current_user.time_zone,
        client_id=own_client_id(current_user) if current_user.is_client else None,
        token=TokenOut(
            id=token.id, name=token.name, scope=token.scope, expires_at=token.expires_at
        ),
    )


@bp.get("/me")
@operation(summary="The user this token belongs to", responses={200: MeOut}, tags=["Me"])
def me():
    return _me()


def _preferences_out() -> DigestPreferences:
    pref = digests.preference_for(current_user)
    return DigestPreferences(
        frequency=pref.frequency,
        send_time=pref.send_time,
        weekday=pref.weekday,
        time_zone=current_user.time_zone,
        detail=pref.detail,
        send_when_empty=pref.send_when_empty,
        alerts_enabled=pref.alerts_enabled,
        quiet_start=pref.quiet_start,
        quiet_end=pref.quiet_end,
    )


@bp.get("/me/digest-preferences")
@operation(
    summary="My digest and alert preferences", responses={200: DigestPreferences}, tags=["Me"]
)
def digest_preferences():
    out = _preferences_out()
    db.session.commit()  # preference_for creates the defaults on first use
    return out


@bp.put("/me/digest-preferences")
@operation(
    summary="Replace my digest and alert preferences",
    body=DigestPreferencesIn,
    responses={200: DigestPreferences},
    tags=["Me"],
)
def save_digest_preferences(body: DigestPreferencesIn):
    values = body.model_dump(exclude={"time_zone"})
    digests.save_preferences(user=current_user, time_zone=body.time_zone, **values)
    return _preferences_out()


from careteam.api import record_views, write_views  # noqa: E402,F401  (routes on bp)
