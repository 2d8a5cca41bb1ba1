"""The Celery app for `celery -A worker worker|beat`, built from the Flask factory."""

from careteam import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
