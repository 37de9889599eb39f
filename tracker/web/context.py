"""What every view needs of the request's context: the database, the event, the public address."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from typing import TypeVar
from zoneinfo import ZoneInfo

from flask import abort, current_app, g, request
from sqlite_utils import Database

from ..event import lookups as events
from ..followups import alerts
from ..node import link
from ..node.link import Link
from ..security import off_loop
from ..store import db as dbm

RETRY_AFTER_SECONDS = 10  # what a 503 for the database's sake asks clients to wait

T = TypeVar("T")


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


def node_link() -> Link | None:
    """On a location node, its link to central (for /healthz); None on central."""
    found = current_app.extensions.get(link.EXTENSION)
    return found if isinstance(found, Link) else None


def alert_settings() -> alerts.Settings:
    """The alerts' settings as the server's outbox reads them."""
    found = current_app.extensions.get(alerts.EXTENSION)
    if isinstance(found, alerts.Outbox):
        return found.settings
    return alerts.Settings.from_config(current_app.config)


# SQLite's primary result codes that mean "not now" rather than "wrong": busy, locked,
# read-only, I/O error, full, cannot open (https://www.sqlite.org/rescode.html).
UNAVAILABLE_CODES = frozenset({5, 6, 8, 10, 13, 14})


def database_unavailable(exc: BaseException) -> bool:
    """Whether a SQLite error means the database cannot answer now (503, retry later), as
    opposed to a fault in a statement (500). Errors without a code (rare) count as outages."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is None or (code & 0xFF) in UNAVAILABLE_CODES


def when(iso: str | None, zone: str | None = None, seconds: bool = False) -> str:
    """A stored UTC time as people there read it (a template filter): in `zone` (a location's
    own, for its records) or the event's, with the offset, e.g. "2026-10-07 14:05 +01:00"."""
    if not iso:
        return "—"
    moment = dbm.parse_iso(iso).astimezone(ZoneInfo(zone or current_event()["timezone"]))
    text = moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{text} {moment.isoformat()[-6:]}"
