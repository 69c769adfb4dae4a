"""Error pages for people, problem+json (RFC 9457) for the API."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from dpa_tracker.extensions import db


def wants_problem_json() -> bool:
    return request.path.startswith("/api/")


def problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def _flatten(messages: Any, prefix: str = "") -> list[str]:
    """webargs messages ({location: {field: [msg]}}) as "field: msg" lines."""
    if isinstance(messages, dict):
        lines = []
        for key, value in messages.items():
            name = prefix if key in ("json", "form", "files", "query") else f"{prefix}{key}"
            lines += _flatten(value, f"{name}." if isinstance(value, dict) and name else name)
        return lines
    if isinstance(messages, list):
        return [f"{prefix.rstrip('.')}: {m}" if prefix else str(m) for m in messages if not isinstance(m, dict)]
    return [f"{prefix}: {messages}"]


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> Any:
        db.session.rollback()
        detail = "The form's security token is missing or expired. Reload the page and try again."
        return render_template("error.html", code=400, title="Form expired", detail=detail), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        db.session.rollback()
        response = _http_error_response(error)
        # The exception's own headers (Allow on a 405, RFC 9110 section 15.5.6) survive the new body.
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    def _http_error_response(error: HTTPException) -> Response:
        code = error.code or 500
        if wants_problem_json():
            extra = {}
            detail = error.description or ""
            data = getattr(error, "data", None)
            if isinstance(data, dict) and "messages" in data:
                extra["errors"] = data["messages"]
                detail = "Invalid input: " + "; ".join(_flatten(data["messages"]))
            if code == 413:
                detail = f"The request is larger than the {app.config['MAX_CONTENT_LENGTH'] // (1024 * 1024)} MB limit."
            response = problem(code, error.name, detail, **extra)
            if code == 401:
                response.headers["WWW-Authenticate"] = 'Bearer realm="dpa_tracker"'
            return response
        detail = error.description or ""
        if code == 413:
            detail = f"The file is larger than the {app.config['MAX_CONTENT_LENGTH'] // (1024 * 1024)} MB limit."
        return make_response(render_template("error.html", code=code, title=error.name, detail=detail), code)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Any:
        db.session.rollback()
        app.logger.exception("Unhandled error")
        if wants_problem_json():
            return problem(500, "Internal Server Error", "An unexpected error occurred; it has been logged.")
        return render_template(
            "error.html",
            code=500,
            title="Internal Server Error",
            detail="An unexpected error occurred; it has been logged.",
        ), 500
