"""Helpers shared by several test files: writes in the domain's shape, and reading pages."""

from __future__ import annotations

import io
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import requests
import urllib3
import zxingcpp
from PIL import Image
from requests.adapters import HTTPAdapter

from tracker.event import file as eventfile
from tracker.event import setup as eventsetup
from tracker.ops import gunicorn_conf
from tracker.people import staff
from tracker.store import db as dbm

# The form an organizer fills in to add a location in the console (Setup, "Add a location").
LISBON = {
    "slug": "lisbon",
    "name": "Lisbon",
    "city": "Lisbon",
    "country": "PT",
    "timezone": "Europe/Lisbon",
}


def database_with(path, event_file) -> tuple:
    """A new database file at `path` with the event of `event_file` loaded: (db, event)."""
    db = dbm.connect(path)
    dbm.migrate(db)
    return db, eventsetup.load_event(db, eventfile.read_event_file(event_file)).event


def add_checkins(
    db,
    station_id: int,
    n: int = 1,
    at: str | None = None,
    attendee_id: int | None = None,
    counted: bool | None = None,
) -> None:
    """n check-ins at a station, each by a new attendee (counted), or by the one given: then
    repeats, unless `counted` says otherwise."""
    event_id = db.execute(
        "SELECT l.event_id FROM stations s JOIN locations l ON l.id = s.location_id WHERE s.id = ?",
        [station_id],
    ).fetchone()[0]
    with dbm.write(db):
        for _ in range(n):
            now = at or dbm.utcnow()
            who = attendee_id
            first = (who is None) if counted is None else counted
            if who is None:
                who = db.execute(
                    "INSERT INTO attendees (event_id, token, badge, created_at) VALUES (?, ?, ?, ?)",
                    [event_id, uuid.uuid4().hex, uuid.uuid4().hex[:10].upper(), now],
                ).lastrowid
            db.execute(
                "INSERT INTO checkins (uuid, station_id, attendee_id, counted, scanned_at,"
                " received_at) VALUES (?, ?, ?, ?, ?, ?)",
                [str(uuid.uuid4()), station_id, who, int(first), now, now],
            )


def station_ids(db, event: dict) -> list[int]:
    """The event's station ids in the order they were made (location, then station)."""
    return [
        row[0]
        for row in db.execute(
            "SELECT s.id FROM stations s JOIN locations l ON l.id = s.location_id"
            " WHERE l.event_id = ? ORDER BY l.id, s.id",
            [event["id"]],
        )
    ]


def add_conversation(
    db,
    station_id: int,
    story: str = "Nice chat",
    nps: int | None = None,
    public: bool = False,
    hidden: bool = False,
    at: str | None = None,
) -> None:
    now = at or dbm.utcnow()
    with dbm.write(db):
        db.execute(
            "INSERT INTO conversations (uuid, station_id, source, story, nps, public, approval,"
            " captured_at, received_at) VALUES (?, ?, 'staff', ?, ?, ?, ?, ?, ?)",
            [
                str(uuid.uuid4()),
                station_id,
                story,
                nps,
                int(public),
                "rejected" if hidden else "approved",  # a staff story, rejected by an organizer
                now,
                now,
            ],
        )


def sid(event: dict, slug: str) -> int:
    return event["stations"][slug]["id"]


def rows(db) -> dict:
    """What a bad request must leave unchanged."""
    return {
        table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("checkins", "attendees", "station_totals", "station_quarters")
    } | {
        "totals": db.execute(
            "SELECT sum(checkins + repeat_checkins) FROM station_totals"
        ).fetchone()[0]
    }


def csrf_token(html: str) -> str:
    """The CSRF token of the (first) form on a page."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def decode(png_bytes: bytes) -> str:
    """What a phone camera reads from a QR code image: its one code's text."""
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png_bytes)))
    assert len(results) == 1
    return results[0].text


def sign_in_session(session, db, station_id: int, name: str = "Ann") -> None:
    """What a successful PIN sign-in leaves in the session."""
    session["staff_session"] = staff.start_session(db, station_id, name)
    session["staff_station_id"] = station_id
    session["staff_pin_tag"] = staff.pin_tag(db, station_id)
    session["staff_name"] = name


def wait_until(
    condition: Callable[[], Any],
    timeout: float = 10.0,
    what: str | None = None,
    *,
    poll: float = 0.02,
    pause: Callable[[float], Any] = time.sleep,
) -> Any:
    """Poll `condition` until it returns something true, and return that. Past `timeout`
    seconds it is a failure that says what was awaited, never a retry: a test waits for what
    it needs, not for a fixed time. `pause` lets a Playwright test keep its page's event loop
    running between polls (`lambda s: page.wait_for_timeout(s * 1000)`)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            name = what or getattr(condition, "__name__", repr(condition))
            raise AssertionError(f"still not true after {timeout:g} s: {name}")
        pause(poll)


def wait_for_js(page, expression: str, timeout: float = 5000, shown: str | None = None) -> None:
    """Wait until a JavaScript expression is true in the page. Playwright's wait_for_function
    evaluates its string inside the page, which our Content-Security-Policy (no eval) refuses;
    page.evaluate goes through the browser's debugging protocol, which the policy allows.
    `timeout` is in milliseconds, as Playwright's are. A page between two documents (a form
    posted, the answer not yet parsed) has no body: there the expression is not true yet,
    instead of an error (TypeError on document.body, seen once under load). A failure says
    what the expression `shown` gives at that moment (what the page said instead)."""
    guarded = (
        f"(() => {{ try {{ return ({expression}); }}"
        " catch (e) { if (!document.body) return false; throw e; } })()"
    )
    try:
        wait_until(
            lambda: page.evaluate(guarded),
            timeout / 1000,
            expression,
            poll=0.025,
            pause=lambda seconds: page.wait_for_timeout(seconds * 1000),
        )
    except AssertionError as failed:
        if shown is None:
            raise
        raise AssertionError(f"{failed}; the page shows {page.evaluate(shown)!r}") from None


# The server closes a kept-alive connection that has waited `keepalive` seconds for its next request
# (tracker/ops/gunicorn_conf.py). A request sent at that very moment, before the close reaches its
# client, is lost with the connection: browsers send it again on a new one, requests does not. So a
# test's phone, like any client that does not, stops reusing a connection well before the server's
# limit (the server closes first otherwise, whatever its limit). CI met this in
# tests/test_node_live.py: a phone's check-in after 2 s of other phones' got ConnectionResetError.
SERVER_KEEP_ALIVE = float(gunicorn_conf.keepalive)


class PhoneConnection(urllib3.connection.HTTPConnection):
    """A connection reused only within half the server's keep-alive limit of its last answer."""

    answered = 0.0

    def getresponse(self, *args, **kwargs):
        response = super().getresponse(*args, **kwargs)
        self.answered = time.monotonic()
        return response

    @property
    def is_connected(self) -> bool:  # what urllib3 asks before it reuses a connection
        fresh = time.monotonic() - self.answered < SERVER_KEEP_ALIVE / 2
        return fresh and super().is_connected


class PhonePool(urllib3.HTTPConnectionPool):
    ConnectionCls = PhoneConnection


def phone_session() -> requests.Session:
    """A `requests.Session` for every test that sends more than one request to a server process:
    its cookie jar is one phone, and its connections are PhoneConnections."""
    session = requests.Session()
    adapter = HTTPAdapter()
    adapter.poolmanager.pool_classes_by_scheme = {"http": PhonePool}
    session.mount("http://", adapter)
    return session
