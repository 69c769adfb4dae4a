"""WSGI entry point of an installed package: ``gunicorn dpa_tracker.wsgi:app``."""

from dpa_tracker import create_app

app = create_app()
