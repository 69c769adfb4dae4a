"""WSGI entry point in a checkout: ``gunicorn wsgi:app`` (installed: ``gunicorn dpa_tracker.wsgi:app``)."""

from dpa_tracker.wsgi import app

__all__ = ["app"]
