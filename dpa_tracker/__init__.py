"""dpa_tracker: keep and prove the promises of GDPR Art. 28 data-processing agreements."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Any

from flask import Flask, g, request
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from dpa_tracker.config import Defaults, check_production, environment_overrides
from dpa_tracker.extensions import csrf, db, limiter, login_manager, migrate, talisman
from dpa_tracker.ids import IdConverter
from dpa_tracker.request_guard import register_request_guard

PACKAGE = Path(__file__).resolve().parent
# templates/, static/ and migrations/ sit at the top of a checkout; the wheel carries them inside the package.
RESOURCES = PACKAGE if (PACKAGE / "templates").is_dir() else PACKAGE.parent
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# static/busy.js sends a random token with a slow download and waits for this cookie to come back.
_DOWNLOAD_TOKEN = re.compile(r"^[a-z0-9]{8,40}$")
DOWNLOAD_COOKIE = "download_token"

CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(_instance_path()),
        instance_relative_config=True,
        template_folder=str(RESOURCES / "templates"),
        static_folder=str(RESOURCES / "static"),
    )
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(environment_overrides())
    if test_config:
        app.config.update(test_config)
    instance = Path(app.instance_path)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        instance.mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'dpa_tracker.sqlite3'}"
    if not app.config.get("EVIDENCE_DIR"):
        app.config["EVIDENCE_DIR"] = str(instance / "evidence")
    if app.config["ENV_NAME"] == "production":
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    check_production(app.config)
    _remove_stale_uploads(app)
    if app.config["TRUSTED_PROXIES"]:
        # Trust exactly this many proxies' X-Forwarded-For/-Proto: the client address the sign-in
        # limits key on is the one the outermost trusted proxy saw, which a client cannot forge.
        hops = int(app.config["TRUSTED_PROXIES"])
        # Flask's documented way to add WSGI middleware; mypy sees wsgi_app only as a method.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    # Before any route is added: ids beyond the INTEGER columns' range answer 404, not a database error.
    app.url_map.converters["int"] = IdConverter

    _init_extensions(app)
    _register_request_hooks(app)
    register_request_guard(app)
    _register_blueprints(app)

    from dpa_tracker.cli import register_cli
    from dpa_tracker.http_errors import register_error_handlers

    register_cli(app)
    register_error_handlers(app)
    return app


def _instance_path() -> Path:
    """DPA_INSTANCE_PATH if set; else the checkout's instance/, or, installed, instance/ in the working directory
    (never inside site-packages)."""
    if os.environ.get("DPA_INSTANCE_PATH"):
        return Path(os.environ["DPA_INSTANCE_PATH"]).resolve()
    if RESOURCES == PACKAGE:
        return Path.cwd() / "instance"
    return PACKAGE.parent / "instance"


def _remove_stale_uploads(app: Flask) -> None:
    """One directory listing: temp files of uploads a killed worker never finished."""
    from dpa_tracker.evidence.store import EvidenceStore

    removed = EvidenceStore(Path(app.config["EVIDENCE_DIR"])).remove_stale_temp_files(app.config["UPLOAD_TEMP_MAX_AGE"])
    if removed:
        app.logger.warning("Removed %d stale upload temp file(s) from %s/tmp.", removed, app.config["EVIDENCE_DIR"])


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(RESOURCES / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    limiter.init_app(app)
    talisman.init_app(
        app,
        force_https=False,  # TLS ends at the reverse proxy; see README "Deploy"
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY",
        referrer_policy="same-origin",
        strict_transport_security=app.config["ENV_NAME"] == "production",
    )

    from dpa_tracker.auth.session import load_user

    login_manager.user_loader(load_user)

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") and not event.contains(
        Engine, "connect", _sqlite_pragmas
    ):
        # Process-wide (every Engine): registered by the first SQLite app, never again.
        event.listen(Engine, "connect", _sqlite_pragmas)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def _register_request_hooks(app: Flask) -> None:
    @app.before_request
    def assign_request_id() -> None:
        supplied = request.headers.get("X-Request-ID", "")
        g.request_id = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex

    @app.after_request
    def echo_request_id(response: Any) -> Any:
        response.headers["X-Request-ID"] = g.get("request_id", "")
        return response

    @app.after_request
    def no_store(response: Any) -> Any:
        """A signed-in user's pages, every download and every API answer carry client data: no browser
        or proxy may keep a copy (a shared computer's back button, a caching proxy)."""
        download = response.headers.get("Content-Disposition", "").startswith("attachment")
        if (
            download
            or request.path.startswith("/api/")
            or (request.endpoint != "static" and current_user.is_authenticated)
        ):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.after_request
    def download_started(response: Any) -> Any:
        """Tell static/busy.js that the file it waits for has arrived: a download answer echoes the
        page's ``download_token`` in a short-lived cookie, and the "Preparing…" button comes back.
        The cookie holds only that random token (no data, nothing the server keeps)."""
        # Only a download reads the token: any other answer (a 413 above all) must not parse the body.
        if request.endpoint == "static" or not response.headers.get("Content-Disposition", "").startswith("attachment"):
            return response
        token = request.values.get("download_token", "")
        if _DOWNLOAD_TOKEN.match(token):
            response.set_cookie(DOWNLOAD_COOKIE, token, max_age=60, samesite="Strict", secure=request.is_secure)
        return response


def _register_blueprints(app: Flask) -> None:
    from dpa_tracker.admin.views import bp as admin_bp
    from dpa_tracker.agent.views import bp as agent_bp
    from dpa_tracker.agreement.views import bp as agreement_bp
    from dpa_tracker.api import register_api
    from dpa_tracker.audit.views import bp as audit_bp
    from dpa_tracker.auth.views import bp as auth_bp
    from dpa_tracker.breach.views import bp as breach_bp
    from dpa_tracker.checklist.views import bp as checklist_bp
    from dpa_tracker.client.views import bp as client_bp
    from dpa_tracker.dashboard.views import bp as dashboard_bp
    from dpa_tracker.deadline.views import bp as deadline_bp
    from dpa_tracker.deadline.views import feed_bp as calendar_bp
    from dpa_tracker.deletion.views import bp as deletion_bp
    from dpa_tracker.dsr.views import bp as dsr_bp
    from dpa_tracker.evidence.views import bp as evidence_bp
    from dpa_tracker.inspection.views import bp as inspection_bp
    from dpa_tracker.obligation.views import bp as obligation_bp
    from dpa_tracker.record.views import bp as record_bp
    from dpa_tracker.subprocessor.views import bp as subprocessor_bp
    from dpa_tracker.transfer.views import bp as transfer_bp

    for blueprint in (
        auth_bp,
        dashboard_bp,
        client_bp,
        agreement_bp,
        obligation_bp,
        evidence_bp,
        audit_bp,
        admin_bp,
        record_bp,
        subprocessor_bp,
        agent_bp,
        breach_bp,
        dsr_bp,
        checklist_bp,
        transfer_bp,
        deletion_bp,
        inspection_bp,
        deadline_bp,
        calendar_bp,
    ):
        app.register_blueprint(blueprint)
    register_api(app)
