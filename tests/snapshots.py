"""Snapshots of the SQLite test database: build a world once, start each case from it.

SQLite's online backup API copies through SQLite itself, so the snapshot includes what
sits in the write-ahead log and a restore is seen consistently by every connection, even
one another app left open on the same file (copying the file's bytes is neither).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from careteam.extensions import db


def sqlite_file(app) -> Path:
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    assert url.get_backend_name() == "sqlite" and url.database
    return Path(url.database)


def close_database() -> None:
    """Give back every connection of the app's engine (the test's and the requests')."""
    db.session.remove()
    db.engine.dispose()


class Snapshot:
    """The database as it is now, kept in memory."""

    def __init__(self, app) -> None:
        with app.app_context():
            close_database()
        self._memory = sqlite3.connect(":memory:", check_same_thread=False)
        with sqlite3.connect(sqlite_file(app), timeout=30) as source:
            source.backup(self._memory)
        source.close()

    def restore(self, app) -> None:
        """Put the database back as it was when the snapshot was taken (call it in the
        test's app context, whose session must let go of its connection first)."""
        close_database()
        target = sqlite3.connect(sqlite_file(app), timeout=30)
        try:
            self._memory.backup(target)
        finally:
            target.close()
