"""The web layer: thin blueprints that parse, authorize, call the domain, and render or return JSON."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from flask import Flask, current_app, make_response, render_template, request
from werkzeug.exceptions import HTTPException

from ..contract.errors import ErrorCode
from ..extensions import csrf
from ..node import forward
from ..store import db as dbm
from . import (
    api_checkins,
    api_conversations,
    attendee,
    board,
    employees,
    heard,
    insights,
    node_api,
    openapi,
    pages,
    ratelimit,
    staff,
)
from .admin import actions as admin_actions
from .admin import conversations as admin_conversations
from .admin import corrections as admin_records
from .admin import downloads as admin_data
from .admin import followups as admin_followups
from .admin import home as admin
from .admin import setup as admin_setup
from .admin import status as admin_status
from .admin import themes as admin_themes
from .context import RETRY_AFTER_SECONDS, database_unavailable, get_db, when
from .jsonapi import UNSAFE, ApiError, code_for_status, is_api, json_error, refuse_cross_site


def _handle_api_error(exc: ApiError):
    return json_error(exc.status, exc.code, exc.detail)


def _before_request():
    if request.routing_exception is not None:
        # No route (404) or not this method (405): say so, with its Allow header, before any
        # guard answers for a request that could never have been served.
        return None
    upstream = current_app.config.get("NODE_UPSTREAM")
    if upstream and (request.path == "/admin" or request.path.startswith("/admin/")):
        # A node has no second console: what an organizer does happens on central, once.
        central = upstream.rstrip("/")
        page = render_template(
            "admin/on_node.html", central=central, parked=forward.parked(get_db())
        )
        return make_response(page, 200 if request.method in ("GET", "HEAD") else 409)
    if is_api():
        return refuse_cross_site()
    if request.method in UNSAFE and current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()
    return None


def _handle_http_error(exc: HTTPException):
    if is_api():
        status = exc.code or 500
        response = json_error(status, code_for_status(status), exc.description or exc.name)
    else:
        # A description of werkzeug's own says nothing ours would not: the page says it in
        # the visitor's language instead.
        own = exc.description != type(exc).description
        response = make_response(
            render_template("error.html", error=exc, own_description=own), exc.code
        )
    # A 429 says when to come back (RFC 6585, RFC 9110 Retry-After), a 503 may too, and a 405
    # says which methods the resource has (RFC 9110, 15.5.6: Allow).
    for name, value in exc.get_headers():
        if name in ("Retry-After", "Allow"):
            response.headers[name] = value
    return response


def _handle_database_error(exc: sqlite3.Error):
    """A database that cannot answer now (busy or locked past the timeout, read-only, full,
    an I/O error, a file that cannot be opened): 503 with Retry-After, so phones and tablets
    retry; nothing was stored. Any other SQLite error is a fault of ours: a logged 500."""
    if not database_unavailable(exc):
        return _handle_unexpected(exc)
    dbm.forget_if_broken(exc)
    current_app.logger.error("database unavailable: %s", exc)
    message = "the database cannot take writes right now; try again in a moment"
    if is_api():
        response = json_error(503, ErrorCode.database_unavailable, message)
    else:
        response = make_response(render_template("error.html", error=None, unavailable=True), 503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _handle_unexpected(exc: Exception):
    current_app.logger.exception("unhandled error")
    if is_api():
        return json_error(
            500, ErrorCode.internal_error, "something went wrong on our side; try again"
        )
    return render_template("error.html", error=None), 500


# Scripts only from this site, never inline (user text can never become code); styles may be
# inline (the report and sheets carry theirs); the staff scanner needs camera frames (blob:).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob: mediastream:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HSTS = "max-age=31536000"  # a year, once a browser has met the site over HTTPS (RFC 6797)


def _security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app: Flask) -> None:
    ratelimit.init_app(app)
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # checked in _before_request, forms only
    app.before_request(_before_request)
    app.add_template_filter(when)
    app.after_request(_security_headers)
    app.register_error_handler(ApiError, _handle_api_error)
    app.register_error_handler(HTTPException, _handle_http_error)
    app.register_error_handler(sqlite3.Error, _handle_database_error)
    app.register_error_handler(Exception, _handle_unexpected)
    for blueprint in blueprints():
        app.register_blueprint(blueprint)
    # Whether the database file was there before this app made it: the commands that need an
    # event refuse to leave a new, empty one behind (tracker/commands/event.py).
    app.config.setdefault("DATABASE_EXISTED", Path(str(app.config["DATABASE"])).exists())
    with app.app_context():
        dbm.migrate(get_db())


def blueprints() -> list:
    """Every blueprint, one per audience."""
    modules = (
        pages,
        attendee,
        api_checkins,
        api_conversations,
        staff,
        board,
        employees,
        heard,
        insights,
        admin,
        admin_followups,
        admin_actions,
        admin_themes,
        admin_records,
        admin_data,
        admin_setup,
        admin_conversations,
        admin_status,
        openapi,
        node_api,
    )
    return [module.bp for module in modules]
