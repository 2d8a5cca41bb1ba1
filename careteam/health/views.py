"""/healthz for load balancers and operators: no login, no clinical data."""

from __future__ import annotations

from flask import Blueprint, jsonify

from careteam.extensions import csrf
from careteam.health import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@csrf.exempt
def healthz():
    body, ok = services.report()
    response = jsonify(body)
    response.status_code = 200 if ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response
