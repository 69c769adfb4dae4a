"""WSGI entry point: ``gunicorn wsgi:app``."""

from dpa_tracker import create_app

app = create_app()
