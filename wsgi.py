"""Entry point for gunicorn and `flask --app wsgi`."""

from careteam import create_app

app = create_app()
