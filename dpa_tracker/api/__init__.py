"""JSON API /api/v1 (bearer tokens, problem+json errors, OpenAPI 3)."""

from flask import Flask


def register_api(app: Flask) -> None:
    """Placeholder until the API blueprint lands."""
