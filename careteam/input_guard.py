"""Refuse input no page can use before it reaches a view: null bytes and numbers too large
for any id (tests/test_injection.py probes every route with them)."""

from __future__ import annotations

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter

# Ids are INTEGER columns: anything larger names nothing, and SQLite (64-bit) or an
# OFFSET computed from it would overflow into a 500.
MAX_ID = 2**31 - 1
# Query parameters that views read as whole numbers (page numbers, an entry to copy).
INTEGER_ARGS = ("page", "again")


class IdConverter(IntegerConverter):
    """`<int:...>` in every URL: a number larger than any id names nothing (404).

    It becomes 0, which no row has (ids start at 1), rather than failing to match:
    werkzeug answers a path whose converter refuses a value with 405 when another rule
    for the same path takes another method (GET and POST /clients/<id>/goals).
    """

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        return number if number <= MAX_ID else 0


def init_app(app: Flask) -> None:
    """Install the id converter (before blueprints add rules) and the request check."""
    app.url_map.converters["int"] = IdConverter

    @app.before_request
    def refuse_unusable_input() -> None:
        # PostgreSQL cannot store NUL in text, and no form field needs one: a 400.
        values = [*request.args.keys(), *request.args.values()]
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            values += [*request.form.keys(), *request.form.values()]
        if any("\x00" in value for value in values):
            abort(400)
        for name in INTEGER_ARGS:
            number = request.args.get(name, type=int)
            if number is not None and abs(number) > MAX_ID:
                abort(404)
