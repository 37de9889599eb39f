"""The only module that emits Socket.IO events: it watches the database and feeds the screens.

Nobody tells this module about writes. A background task asks SQLite's `PRAGMA data_version` on
a read-only connection of its own a few times a second; the number moves whenever any other
connection (this process, another server process, a CLI command) has committed. When it moved,
the task reads the snapshot for each room that has screens and emits it if it differs from the
last one sent there. A burst of writes between two polls becomes one emit: coalescing is the poll.

All emits leave from that one task, including the snapshot a screen gets when it connects or
joins a location, so a screen never sees an older snapshot arrive after a newer one.

Which screens watch which room is this module's own bookkeeping, kept by the connect, join and
disconnect handlers; it asks python-socketio nothing beyond its documented API.

Sockets have budgets: every message a client sends on /live, of any event (handled or not),
is counted against its connection and its address in a fixed window; a client past
either budget is disconnected and logged. A screen sends a `join` now and then; a script that
floods costs the worker a dict update per message until it is cut off, never a database read.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections import Counter
from pathlib import Path

from flask import Flask, current_app, request
from flask_socketio import disconnect, join_room, leave_room
from sqlite_utils import Database

from ..contract.responses import Scoreboard
from ..event import lookups as events
from ..extensions import socketio
from ..figures import scoreboard
from ..store import db as dbm

NAMESPACE = "/live"
EVENT_ROOM = "event"
log = logging.getLogger(__name__)


def _sid() -> str:
    """The Socket.IO session id of the screen in this handler (Flask-SocketIO sets it)."""
    return request.sid  # type: ignore[attr-defined]


def room_for(location: str | None) -> str:
    return EVENT_ROOM if location is None else f"location:{location}"


class Watcher:
    """Per-process state: who watches which room, what each room was last sent, and the task."""

    def __init__(self, app: Flask):
        self.app = app
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.screens: dict[str, str | None] = {}  # sid -> location slug (None: the whole event)
        self.watching: Counter[str | None] = Counter()  # location -> its screens, none at 0
        self.pending: set[str] = set()  # sids that need a full snapshot of their room
        self.last_sent: dict[str | None, dict] = {}  # location -> comparable snapshot
        self.started = False

    # Called from Socket.IO handlers, as their last step.
    def add(self, sid: str, location: str | None) -> None:
        """The screen `sid` now shows `location`; the task sends it that room's snapshot.

        A connect handler runs before python-socketio accepts the connection, and a packet sent
        before the acceptance could reach the client ahead of its "connected" and be dropped. So
        the handlers call this last, and nothing here yields: the task, a greenlet like the
        handler (tracker serves with gevent), runs only when the handler's greenlet yields, and
        by then python-socketio has queued the acceptance on the connection, ahead of anything
        the task sends there."""
        with self.lock:
            moved = sid in self.screens
            before = self.screens.get(sid)
            self.screens[sid] = location
            self.watching[location] += 1
            if moved:
                self._unwatch(before)
            self.pending.add(sid)
            start = not self.started
            self.started = True
        if start:
            socketio.start_background_task(self.run)
        self.wake.set()

    def remove(self, sid: str) -> None:
        with self.lock:
            if sid in self.screens:
                self._unwatch(self.screens.pop(sid))
            self.pending.discard(sid)

    def _unwatch(self, location: str | None) -> None:
        """One screen fewer on `location` (the lock held); the last one forgets what was sent."""
        self.watching[location] -= 1
        if self.watching[location] <= 0:
            del self.watching[location]
            self.last_sent.pop(location, None)

    # The background task.
    def run(self) -> None:
        poll = float(self.app.config.get("LIVE_POLL_SECONDS", 0.25))
        conn = self._connect()
        version = None
        while True:
            self.wake.wait(poll)
            self.wake.clear()
            try:
                now = conn.execute("PRAGMA data_version").fetchone()[0]
                changed, version = now != version, now
                self.tick(conn, changed)
            except Exception:  # keep the screens fed whatever one poll ran into
                log.exception("scoreboard watcher: poll failed")
                socketio.sleep(1)

    def _connect(self) -> Database:
        path = self.app.config["DATABASE"]
        if not str(path).startswith("file:"):
            path = Path(path).resolve().as_uri() + "?mode=ro"
        try:
            return dbm.connect(path)
        except Exception:  # e.g. a WAL file this user cannot map read-only: read with a normal one
            log.warning("scoreboard watcher: read-only connection failed; using a normal one")
            return dbm.connect(self.app.config["DATABASE"])

    def tick(self, conn: Database, changed: bool) -> None:
        """Emit to rooms whose snapshot changed (when the data did) and to screens that are new."""
        with self.lock:
            pending = {sid: self.screens[sid] for sid in self.pending if sid in self.screens}
            self.pending.clear()
            rooms = set(self.watching) if changed else set(pending.values())
        if not rooms:
            return
        try:
            event = events.get_event(conn, self.app.config.get("EVENT"))
        except events.UnknownEvent:
            with self.lock:  # try again once an event is loaded (that write moves data_version)
                self.pending.update(pending)
            return
        # A room for a location the board no longer shows gets nothing; the others go on.
        snaps = scoreboard.snapshots(conn, event, list(rooms), skip_unknown=True)
        sent_to_room = set()
        for location, snap in snaps.items():
            news = scoreboard.comparable(snap)
            with self.lock:
                if location not in self.watching:
                    continue
                if self.last_sent.get(location) == news:
                    continue
                self.last_sent[location] = news
            self._emit(snap, room_for(location))
            sent_to_room.add(location)
        for sid, location in pending.items():
            if location in snaps and location not in sent_to_room:
                self._emit(snaps[location], sid)

    def _emit(self, snap: Scoreboard, to: str) -> None:
        socketio.emit("scoreboard", snap, namespace=NAMESPACE, to=to)


def watcher() -> Watcher:
    return current_app.extensions["tracker_live"]


class Budgets:
    """Messages per connection and per address in fixed windows of WINDOW seconds (README,
    Configuration: SOCKET_MESSAGES_PER_CONNECTION, SOCKET_MESSAGES_PER_ADDRESS)."""

    WINDOW = 10.0

    def __init__(self, per_connection: int, per_address: int):
        self.per_connection = per_connection
        self.per_address = per_address
        self.lock = threading.Lock()
        self.counts: dict[str, list[float]] = {}  # key -> [window start, messages]

    def charge(self, sid: str, address: str, now: float | None = None) -> str | None:
        """Count one message; the budget it exceeds ("connection", "address"), or None."""
        moment = time.monotonic() if now is None else now
        with self.lock:
            if len(self.counts) > 50_000:  # forget closed windows now and then
                self.counts = {k: v for k, v in self.counts.items() if moment - v[0] < self.WINDOW}
            for key, limit, name in (
                (f"sid:{sid}", self.per_connection, "connection"),
                (f"ip:{address}", self.per_address, "address"),
            ):
                window = self.counts.get(key)
                if window is None or moment - window[0] >= self.WINDOW:
                    window = self.counts[key] = [moment, 0.0]
                window[1] += 1
                if window[1] > limit:
                    return name
        return None

    def address_spent(self, address: str, now: float | None = None) -> bool:
        """Whether `address` has gone past its budget in the current window (nothing charged):
        its new connections are refused before they cost a websocket handshake."""
        moment = time.monotonic() if now is None else now
        with self.lock:
            window = self.counts.get(f"ip:{address}")
            return (
                window is not None
                and moment - window[0] < self.WINDOW
                and window[1] > self.per_address
            )


def _within_budget() -> bool:
    """Charge this message; past a budget, disconnect the client (and say so in the log)."""
    budgets: Budgets = current_app.extensions["tracker_socket_budgets"]
    address = request.remote_addr or "unknown"
    over = budgets.charge(_sid(), address)
    if over is None:
        return True
    log.warning(
        "live: a socket from %s went past its %s message budget; disconnected", address, over
    )
    disconnect()
    _shut_transport()
    return False


def _shut_transport() -> None:
    """Close the client's connection itself, not only its /live namespace: Socket.IO's
    disconnect leaves the transport open, and every message a flood goes on sending would still
    be parsed (websocket frames, in Python: the whole worker's time under a flood). The server's
    socket (gunicorn's `gunicorn.socket`) reads nothing more once shut (tracker/ops/gunicorn_conf.py)."""
    connection = request.environ.get("gunicorn.socket")
    if connection is not None:
        with contextlib.suppress(OSError):  # closed already
            connection.shutdown(socket.SHUT_RDWR)


@socketio.on("*", namespace=NAMESPACE)
def on_anything(event: str, data: object = None):
    """Any event nobody handles: counted, then ignored. (/live is the only namespace: a
    connection to any other is refused, as no handler serves it.)"""
    _within_budget()


def _location_of(data: object) -> str | None:
    """The location slug a screen asked for, or None; ValueError names what is wrong."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ValueError('send an object such as {"location": "cork"}')
    slug = data.get("location")
    if slug in (None, ""):
        return None
    if not isinstance(slug, str) or len(slug) > 40:
        raise ValueError('location is a location slug such as "cork"')
    db = dbm.thread_db(current_app.config["DATABASE"], current_app.config["SYNCHRONOUS"])
    try:
        event = events.get_event(db, current_app.config.get("EVENT"))
    except events.UnknownEvent as exc:
        raise ValueError("no event is loaded yet") from exc
    if events.location_by_slug(db, event["id"], slug) is None:
        raise LookupError(f"the event has no location {slug!r}")
    return slug


@socketio.on("connect", namespace=NAMESPACE)
def on_connect(auth: dict | None = None):
    """A screen connected: put it in its room; the watcher sends it the full snapshot at once."""
    if not _within_budget():
        raise ConnectionRefusedError({"error": "too_many_requests"})
    try:
        location = _location_of(auth)
    except (ValueError, LookupError) as exc:
        raise ConnectionRefusedError({"error": "bad_location", "detail": str(exc)}) from None
    join_room(room_for(location))
    watcher().add(_sid(), location)


@socketio.on("join", namespace=NAMESPACE)
def on_join(data: object = None):
    """Move this screen to a location's room ({"location": slug}) or the whole event's (null)."""
    if not _within_budget():
        return {"error": "too_many_requests", "detail": "this screen sent too many messages"}
    try:
        location = _location_of(data)
    except LookupError as exc:
        return {"error": "unknown_location", "detail": str(exc)}
    except ValueError as exc:
        return {"error": "bad_request", "detail": str(exc)}
    live = watcher()
    with live.lock:
        before = live.screens.get(_sid())
    if before != location:
        leave_room(room_for(before))
        join_room(room_for(location))
    live.add(_sid(), location)
    return {"ok": True, "location": location}


@socketio.on("disconnect", namespace=NAMESPACE)
def on_disconnect(reason: object = None):
    watcher().remove(_sid())


def init_app(app: Flask) -> None:
    """Give this app its watcher; the task itself starts with the first screen."""
    app.extensions["tracker_live"] = Watcher(app)
    app.extensions["tracker_socket_budgets"] = Budgets(
        app.config["SOCKET_MESSAGES_PER_CONNECTION"], app.config["SOCKET_MESSAGES_PER_ADDRESS"]
    )
