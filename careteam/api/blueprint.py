"""The JSON API's blueprint under /api/v1. It imports nothing of ours: resources register
their routes on it, and careteam/api/__init__.py registers it on the app."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Where one client's record is: most resources hang under it.
CLIENT = "/clients/<int:client_id>"
