"""Celery bound to the Flask app, so that every task runs inside an app context."""

from __future__ import annotations

from celery import Celery, Task
from flask import Flask

TASK_MODULES = [
    "careteam.health.tasks",
    "careteam.digests.tasks",
    "careteam.alerts.tasks",
    "careteam.invitations.tasks",
    "careteam.auth.tasks",
    "careteam.audit.tasks",
    "careteam.api.tasks",
]


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app from the Flask config's CELERY mapping (Flask's pattern)."""

    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask, include=TASK_MODULES)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
