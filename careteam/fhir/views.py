"""The FHIR R4 export: a client's record as one Bundle, for the team or the client."""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app
from flask_login import current_user

from careteam.access import Action, load_client
from careteam.api.auth import CHALLENGE
from careteam.api.problems import ApiProblem
from careteam.fhir import services

bp = Blueprint("fhir", __name__, url_prefix="/fhir/r4")

FHIR_JSON = "application/fhir+json"


@bp.get("/Patient/<int:client_id>/$everything")
def patient_everything(client_id: int) -> Response:
    """`Patient/$everything`: a bearer token (careteam/api/auth.py) or a browser session."""
    if not current_user.is_authenticated:
        # A 401, not the login page's redirect: this is an API.
        raise ApiProblem(
            401,
            "Send a personal access token (Authorization: Bearer <token>) or log in.",
            headers=CHALLENGE,
        )
    # The same URL serves both copies; which one a user asks for follows from who they
    # are, and load_client decides whether they may have it (404 for anyone else's record).
    if current_user.is_client:
        audience, action = services.Audience.CLIENT, Action.VIEW_SHARED_RECORD
    else:
        # Not VIEW_RECORD: an emergency grant is for reading the record in an emergency,
        # not for taking a copy of it away (the policy answers 403 and audits it).
        audience, action = services.Audience.TEAM, Action.EXPORT_RECORD
    client = load_client(client_id, action).client
    bundle = services.export_everything(
        client, audience=audience, base_url=current_app.config["BASE_URL"]
    )
    response = Response(json.dumps(bundle, ensure_ascii=False), mimetype=FHIR_JSON)
    # A copy of a health record: no cache along the way may keep it.
    response.headers["Cache-Control"] = "no-store"
    return response
