"""The web layer: thin blueprints that parse, authorize, call the domain, and render or return JSON."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from typing import TypeVar
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, jsonify, make_response, render_template, request
from pydantic import ValidationError
from sqlite_utils import Database
from werkzeug.exceptions import HTTPException

from .. import db as dbm
from .. import events
from ..security import off_loop

T = TypeVar("T")

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def get_db() -> Database:
    """This thread's connection to the configured database."""
    return dbm.thread_db(current_app.config["DATABASE"], current_app.config["SYNCHRONOUS"])


def private_db() -> Database:
    """A connection of its own, for reads that yield between rows (a streamed download) or that
    need no statement open beside them (VACUUM INTO); the caller closes it."""
    return dbm.connect(current_app.config["DATABASE"], current_app.config["SYNCHRONOUS"])


def read_off_loop(work: Callable[..., T], *args) -> T:
    """`work(db, *args)` on a connection of its own in the OS thread for slow work, for the
    organizer's big reads (the report, Today, the story and follow-up lists): the serving loop
    goes on meanwhile, as SQLite releases the GIL while it steps and Python hands it back every
    few milliseconds (a 120-160 ms report held every check-in back that long)."""
    path, synchronous = current_app.config["DATABASE"], current_app.config["SYNCHRONOUS"]

    def run() -> T:
        with closing(dbm.connect(path, synchronous)) as db:
            return work(db, *args)

    return off_loop(run)


def current_event() -> dict:
    """The event being run, read once per request."""
    if "event" not in g:
        try:
            g.event = events.get_event(get_db(), current_app.config.get("EVENT"))
        except events.UnknownEvent:
            abort(503, "No event is loaded yet: run `flask --app tracker event load FILE`.")
    return g.event


def public_url() -> str:
    """The address QR codes point at: PUBLIC_URL when set, else where this request came in."""
    return current_app.config.get("PUBLIC_URL") or request.host_url.rstrip("/")


def validation_problems(exc: ValidationError) -> list[dict]:
    """A refused JSON body, field by field: the `detail` of every 400 `invalid_body`."""
    return [
        {
            "field": ".".join(str(part) for part in err["loc"]) or "body",
            "problem": err["msg"].removeprefix("Value error, "),
        }
        for err in exc.errors(include_url=False, include_input=False)
    ]


def json_error(status: int, error: str, detail: str | list | dict):
    """Every API error has this shape: {"error": short code, "detail": what is wrong}."""
    response = jsonify({"error": error, "detail": detail})
    response.status_code = status
    return response


class ApiError(Exception):
    """A request the JSON API refuses before calling the domain; answered as json_error."""

    def __init__(self, status: int, error: str, detail: str | list):
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail


def _handle_api_error(exc: ApiError):
    return json_error(exc.status, exc.error, exc.detail)


def is_api() -> bool:
    return request.path.startswith("/api/") or request.path == "/openapi.json"


def _guard_json_api():
    """Cross-site guard for the JSON API, which carries no CSRF token (README, HTTP and Socket.IO interface).

    A cross-site form cannot send application/json, and a cross-site script cannot without a
    CORS preflight, which we never grant; a foreign Origin is refused outright.
    """
    if request.method not in UNSAFE:
        return None
    origin = request.headers.get("Origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.host:
        return json_error(403, "forbidden_origin", f"requests from {origin} are not accepted")
    if origin == "null":
        return json_error(
            403, "forbidden_origin", "requests from an opaque origin are not accepted"
        )
    if request.mimetype != "application/json":
        return json_error(
            415,
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json",
        )
    return None


def _before_request():
    if is_api():
        return _guard_json_api()
    if request.method in UNSAFE and current_app.config.get("WTF_CSRF_ENABLED", True):
        from .. import csrf

        csrf.protect()
    return None


def _handle_http_error(exc: HTTPException):
    if is_api():
        code = (exc.name or "error").lower().replace(" ", "_")
        response = json_error(exc.code or 500, code, exc.description or exc.name)
    else:
        response = make_response(render_template("error.html", error=exc), exc.code)
    # A 429 says when to come back (RFC 6585, RFC 9110 Retry-After); a 503 may too.
    retry_after = dict(exc.get_headers()).get("Retry-After")
    if retry_after:
        response.headers["Retry-After"] = retry_after
    return response


RETRY_AFTER_SECONDS = 10  # what a 503 for the database's sake asks clients to wait


def _handle_database_unavailable(exc: sqlite3.OperationalError):
    """A write the database could not take (disk full, read-only file, locked past the busy
    timeout): 503 with Retry-After, so phones and tablets retry; nothing was stored."""
    current_app.logger.error("database unavailable: %s", exc)
    message = "the database cannot take writes right now; try again in a moment"
    if is_api():
        response = json_error(503, "database_unavailable", message)
    else:
        response = make_response(render_template("error.html", error=None, unavailable=True), 503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _handle_unexpected(exc: Exception):
    current_app.logger.exception("unhandled error")
    if is_api():
        return json_error(500, "internal_error", "something went wrong on our side; try again")
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
    from . import ratelimit

    ratelimit.init_app(app)
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # checked in _before_request, forms only
    app.before_request(_before_request)
    app.after_request(_security_headers)
    app.register_error_handler(ApiError, _handle_api_error)
    app.register_error_handler(HTTPException, _handle_http_error)
    app.register_error_handler(sqlite3.OperationalError, _handle_database_unavailable)
    app.register_error_handler(Exception, _handle_unexpected)
    for blueprint in blueprints():
        app.register_blueprint(blueprint)
    with app.app_context():
        dbm.migrate(get_db())


def blueprints() -> list:
    """Every blueprint, one per audience."""
    from . import (
        admin,
        admin_records,
        api_checkins,
        api_conversations,
        attendee,
        board,
        openapi,
        pages,
        staff,
    )

    modules = (
        pages,
        attendee,
        api_checkins,
        api_conversations,
        staff,
        board,
        admin,
        admin_records,
        openapi,
    )
    return [module.bp for module in modules]
