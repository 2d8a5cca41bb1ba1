"""The API's description of itself: the OpenAPI 3.1 document and its readable reference."""

from __future__ import annotations

from flask import current_app, render_template

from careteam.api.blueprint import bp
from careteam.api.openapi import build_document, operation


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
