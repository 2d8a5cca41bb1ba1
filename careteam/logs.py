"""Structured logs: one event per line with the request id and user id, no clinical text."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request
from flask_login import current_user


class ContextFilter(logging.Filter):
    """Attach the request id, user id and route to every record logged during a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = ""
        record.user_id = ""
        if has_request_context():
            record.request_id = g.get("request_id", "")
            try:
                if current_user and current_user.is_authenticated:
                    record.user_id = str(current_user.id)
            except Exception:  # noqa: S110 - no user while the session itself is being loaded  # nosec B110
                pass
        return True


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            "request_id": getattr(record, "request_id", ""),
            "user_id": getattr(record, "user_id", ""),
        }
        for key in ("method", "endpoint", "status", "duration_ms"):
            if hasattr(record, key):
                event[key] = getattr(record, key)
        if record.exc_info:
            event["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else ""
            # The traceback's frames, without exception messages that might echo input.
            event["traceback"] = self.formatException(record.exc_info).splitlines()[-6:-1]
        return json.dumps(event, ensure_ascii=False)


# Links whose last path segment is a credential (reset, invitation, unsubscribe).
TOKEN_PATH = re.compile(r"(?:(?<=\s)|^)(/(?:password/reset|invitations|unsubscribe)/)[^\s?/\"]+")


class RequestLineFilter(logging.Filter):
    """Strip tokens and query strings from the development server's request lines.

    Werkzeug logs `"GET /password/reset/<token>?q=... HTTP/1.1" 200 -` for every request;
    query strings may hold names typed into a search.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(
                TOKEN_PATH.sub(r"\1[token]", re.sub(r"\?\S*", "?[query]", arg))
                if isinstance(arg, str)
                else arg
                for arg in record.args
            )
        record.msg = TOKEN_PATH.sub(r"\1[token]", str(record.msg))
        return True


def configure(app: Flask) -> None:
    """Send the app's logs to stderr as JSON lines and log one line per request."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter())
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("careteam")
    if not any(isinstance(h.formatter, JSONFormatter) for h in logger.handlers):
        logger.addHandler(handler)
    logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    logger.propagate = False
    app.logger.handlers = logger.handlers[:]
    app.logger.propagate = False
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, RequestLineFilter) for f in werkzeug.filters):
        werkzeug.addFilter(RequestLineFilter())

    access = logging.getLogger("careteam.request")

    @app.after_request
    def log_request(response):
        # The endpoint name, never the query string: searches may hold names.
        started = g.get("request_started")
        duration = round((time.perf_counter() - started) * 1000, 1) if started else None
        access.info(
            "request",
            extra={
                "method": request.method,
                "endpoint": request.endpoint or "-",
                "status": response.status_code,
                "duration_ms": duration,
            },
        )
        return response
