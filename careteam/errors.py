"""Errors that use cases raise when they refuse input, and the HTTP error pages."""

from __future__ import annotations

import logging
import math
import time
from typing import Protocol

from flask import Flask, Response, current_app, make_response, render_template, request
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from careteam.extensions import db

log = logging.getLogger("careteam.errors")
ERROR_ANSWERS = "careteam_error_answers"


class UserFacingError(ValueError):
    """A use case refused its input; the message is a plain sentence safe to show."""

    def __init__(self, message: str, field: str | None = None, *, http_status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        # What the API answers with: 422 for refused input, 409 for a conflict.
        self.http_status = http_status


def attach_error(form, error: UserFacingError) -> None:
    """Show a use case's refusal next to its field, or at the top of the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, str(error)]
    else:
        form.form_errors.append(str(error))


def attach_errors(form, problems: list[UserFacingError]) -> None:
    """Show each of a form's rule refusals next to its field, unless that field already
    has an error (from its own validators), or at the top of the form."""
    for problem in problems:
        field = getattr(form, problem.field, None) if problem.field else None
        if field is None:
            form.form_errors.append(str(problem))
        elif not field.errors:
            field.errors = [*field.errors, str(problem)]


ERROR_TEXT = {
    400: (
        "Something in the request was not right",
        "Go back, check what you entered and try again.",
    ),
    403: (
        "You do not have access to this",
        "If you think you should, ask the client's team lead or an administrator.",
    ),
    404: ("Page not found", "The page does not exist, or you do not have access to it."),
    405: ("That action is not available here", "Go back and use the buttons on the page."),
    413: ("That was too large", "Send less at once and try again."),
    429: (
        "Too many attempts",
        "For your security, this is paused for a while. Wait a few minutes and try again.",
    ),
    500: (
        "Something went wrong on our side",
        "Nothing you saved before is lost. Try again in a moment.",
    ),
}


class ErrorAnswer(Protocol):
    """An adapter's answer to an error of one of its own requests, or None for the others.

    `detail` is the sentence to show, `field` the refused field (if any) and `headers`
    those the answer must carry (Retry-After).
    """

    def __call__(
        self,
        status: int,
        detail: str | None = None,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response | None: ...


def answer_errors_with(app: Flask, answer: ErrorAnswer) -> None:
    """Let an adapter (the JSON API) answer its own requests' errors in its own format.

    The error pages stay here and know no adapter: each registers its answer when it is
    registered on the app, and a request none of them claims gets the HTML page.
    """
    app.extensions.setdefault(ERROR_ANSWERS, []).append(answer)


def _adapter_answer(
    status: int,
    detail: str | None = None,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response | None:
    for answer in current_app.extensions.get(ERROR_ANSWERS, ()):
        response = answer(status, detail, field=field, headers=headers)
        if response is not None:
            return response
    return None


def register_error_pages(app: Flask) -> None:
    """Our own error pages: plain sentences, never a stack trace."""

    def render(status: int):
        answered = _adapter_answer(status)
        if answered is not None:
            return answered
        title, advice = ERROR_TEXT.get(status, ERROR_TEXT[400 if status < 500 else 500])
        if (
            request.path.startswith("/healthz")
            or request.accept_mimetypes.best == "application/json"
        ):
            return {"error": title}, status
        return render_template("errors.html", status=status, title=title, advice=advice), status

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        title = "This form has expired"
        advice = (
            "Your session may have ended or the page was open too long. "
            "Reload the page and submit again."
        )
        return render_template("errors.html", status=400, title=title, advice=advice), 400

    @app.errorhandler(UserFacingError)
    def refused(error: UserFacingError):
        # Web views catch their use cases' refusals and show them on the form; only the
        # API lets them through, to answer with the field and the sentence.
        db.session.rollback()
        answered = _adapter_answer(error.http_status, str(error), field=error.field)
        if answered is None:
            log.exception("unhandled refusal", extra={"path": request.path})
            return render(500)
        return answered

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(error: RateLimitExceeded):
        # Flask-Limiter's own page would show the limit's notation; ours says what to do.
        wait = _retry_after_seconds(error)
        log.warning("rate limited", extra={"endpoint": request.endpoint, "status": 429})
        answered = _adapter_answer(
            429,
            f"Too many requests with this token. Wait {wait} seconds.",
            headers={"Retry-After": str(wait)},
        )
        if answered is not None:
            return answered
        response = make_response(render(429))
        response.headers["Retry-After"] = str(wait)
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        return render(error.code)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        log.exception("unhandled error", extra={"path": request.path})
        db.session.rollback()
        return render(500)


def _retry_after_seconds(error: RateLimitExceeded) -> int:
    """Seconds until the limit that was hit lets requests through again."""
    from careteam.extensions import limiter

    window = max(1, int(error.limit.limit.get_expiry()))
    try:
        current = limiter.current_limit
        if current is not None and current.breached:
            return min(window, max(1, math.ceil(current.reset_at - time.time())))
    except Exception:  # the storage failed between the hit and this answer
        log.warning("rate limit reset time unavailable")
    return window
