"""Errors of the API as RFC 9457 problem details (application/problem+json).

Views raise ApiProblem. `init_app` renders it, and plugs `answer` into the app's error
pages (careteam/errors.py), so that any error of a request under /api/ or /fhir/ is a
problem document: a client of the API never gets an HTML page or a stack trace.
"""

from __future__ import annotations

from http import HTTPStatus

from flask import Flask, Response, current_app, json, request
from pydantic import BaseModel, Field

from careteam.errors import answer_errors_with
from careteam.extensions import db

PROBLEM_JSON = "application/problem+json"
API_PATHS = ("/api/", "/fhir/")


class FieldError(BaseModel):
    """One refused field: where it is in the request body or query, and why."""

    pointer: str = Field(description='JSON Pointer to the field, e.g. "/title" or "/query/kind".')
    detail: str = Field(description="What is wrong, in a plain sentence.")


class Problem(BaseModel):
    """An error, as RFC 9457 problem details."""

    type: str = Field(default="about:blank", description="A URI naming the kind of problem.")
    title: str = Field(description="The HTTP status phrase.")
    status: int = Field(description="The HTTP status code.")
    detail: str | None = Field(default=None, description="What went wrong and what to do.")
    instance: str | None = Field(default=None, description="The path of the request.")
    errors: list[FieldError] | None = Field(
        default=None, description="Per-field validation errors (422)."
    )


class ApiProblem(Exception):
    """Raised by API code: rendered as a problem+json response with this status."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or HTTPStatus(status).phrase)
        self.status = status
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


def wants_problem() -> bool:
    """Is this request one whose errors are problem documents rather than HTML pages?"""
    return request.path.startswith(API_PATHS)


def problem_response(
    status: int,
    detail: str | None = None,
    *,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    problem = Problem(
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=request.path,
        errors=errors,
    )
    response = current_app.response_class(
        json.dumps(problem.model_dump(mode="json", exclude_none=True)),
        status=status,
        mimetype=PROBLEM_JSON,
    )
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def render(error: ApiProblem) -> Response:
    db.session.rollback()
    return problem_response(error.status, error.detail, errors=error.errors, headers=error.headers)


def answer(
    status: int,
    detail: str | None = None,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response | None:
    """The error pages' answer for a request of the API or FHIR export (None for others)."""
    if not wants_problem():
        return None
    errors = [FieldError(pointer=f"/{field}", detail=detail)] if field else None
    return problem_response(status, detail, errors=errors, headers=headers)


def init_app(app: Flask) -> None:
    """Answer ApiProblem, and every error of an API request, with a problem document."""
    app.register_error_handler(ApiProblem, render)
    answer_errors_with(app, answer)


def pydantic_errors(error, *, prefix: str = "") -> list[FieldError]:
    """A pydantic ValidationError as field errors with JSON pointers."""
    found = []
    for item in error.errors(include_url=False, include_input=False):
        location = [str(part) for part in item["loc"]]
        pointer = prefix + "/" + "/".join(location) if location else prefix or "/"
        message = item["msg"]
        if item["type"] == "missing":
            message = "This field is required."
        elif item["type"] == "extra_forbidden":
            message = "This field is not known."
        found.append(FieldError(pointer=pointer, detail=message))
    return found
