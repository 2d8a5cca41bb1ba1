"""Errors that use cases raise when they refuse input, and the HTTP error pages."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger("careteam.errors")


class UserFacingError(ValueError):
    """A use case refused its input; the message is a plain sentence safe to show."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def attach_error(form, error: UserFacingError) -> None:
    """Show a use case's refusal next to its field, or at the top of the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, str(error)]
    else:
        form.form_errors.append(str(error))


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
    500: (
        "Something went wrong on our side",
        "Nothing you saved before is lost. Try again in a moment.",
    ),
}


def register_error_pages(app: Flask) -> None:
    """Our own error pages: plain sentences, never a stack trace."""

    def render(status: int):
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

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        return render(error.code)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        log.exception("unhandled error", extra={"path": request.path})
        from careteam.extensions import db

        db.session.rollback()
        return render(500)
