"""JSON API /api/v1 (bearer tokens, problem+json errors, OpenAPI 3 at /api/v1/openapi.json)."""

from __future__ import annotations

import http
from typing import Any

from flask import Flask
from flask_smorest import Api
from flask_smorest.utils import prepare_response

PROBLEM_JSON = "application/problem+json"


class ProblemJsonApi(Api):
    """flask-smorest without its app-wide error handlers: http_errors answers problem+json."""

    def _register_error_handlers(self) -> None:
        return None

    def _register_responses(self) -> None:
        """The error responses every operation refers to, documented as the problem+json they are."""
        from dpa_tracker.api.schemas import Problem

        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = Problem
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response (RFC 9457)", "schema": Problem}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def register_api(app: Flask) -> None:
    # Importing the endpoint modules attaches their routes to the blueprint.
    from dpa_tracker.api import (  # noqa: F401
        activities,
        admin,
        agents,
        agreements,
        breaches,
        catalogue,
        checklist,
        deadlines,
        deletion,
        inspections,
        obligations,
        records,
        requests,
        subprocessors,
        transfers,
        users,
        views,
    )
    from dpa_tracker.api.common import blp
    from dpa_tracker.extensions import csrf

    app.config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearerAuth": []}],
            "info": {
                "description": "Bearer tokens come from `flask --app dpa_tracker create-token EMAIL`. "
                "Errors are application/problem+json (RFC 9457)."
            },
        },
    )
    api = ProblemJsonApi(app)
    api.register_blueprint(blp)
    csrf.exempt(blp)
