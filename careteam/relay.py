"""Publish a Celery task for rows a request wrote, after its commit, off the request.

A broker that is down, or accepts connections and never answers, must neither fail nor
slow a request. So a use case writes its row (an outbox alert, an invitation waiting for
its email) in its own transaction and queues the row's id here; once the transaction
commits, a background thread publishes one task per id. A rollback forgets them. What the
thread cannot publish, the feature's beat task finds in the database later.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from careteam.extensions import db


@dataclass(frozen=True)
class Relay:
    """One kind of after-commit task: `task(id)`, published when `setting` is "thread"."""

    name: str
    task: str
    setting: str
    what: str  # the id's name in log lines, e.g. "alert_id"

    @property
    def key(self) -> str:
        return f"careteam_relay_{self.name}"

    def queue(self, object_id: int) -> None:
        """Publish `task(object_id)` once the current transaction commits."""
        db.session.info.setdefault(self.key, []).append(object_id)

    def publish(self, app: Flask, object_ids: list[int]) -> None:
        celery = app.extensions["celery"]
        for object_id in object_ids:
            try:
                celery.send_task(self.task, args=[object_id])
            except Exception:  # the feature's beat task sends it later
                app.logger.warning(
                    f"{self.name} relay: broker unavailable", extra={self.what: object_id}
                )
                return


_RELAYS: list[Relay] = []


def relay(*, name: str, task: str, setting: str, what: str) -> Relay:
    """Declare a relay (at import time of the feature's module)."""
    new = Relay(name=name, task=task, setting=setting, what=what)
    _RELAYS.append(new)
    return new


@event.listens_for(Session, "after_commit")
def _publish_after_commit(session: Session) -> None:
    for each in _RELAYS:
        ids = session.info.pop(each.key, None)
        if not ids:
            continue
        app = current_app._get_current_object()
        if app.config.get(each.setting) != "thread":
            continue
        # Publishing may block on a broker that does not answer: never in the request.
        threading.Thread(target=each.publish, args=(app, list(ids)), daemon=True).start()


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    for each in _RELAYS:
        session.info.pop(each.key, None)
