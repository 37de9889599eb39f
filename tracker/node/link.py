"""On a node: the link to central, run as two background tasks in the server process (like
live.py's watcher): the forwarder sends the outbox in batches, the puller fetches the setup
every NODE_PULL_SECONDS. Both back off (doubling, capped) while central cannot be reached.

Only one process forwards per node file: gunicorn runs one worker, and tasks start only in it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import MutableMapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from ..security import tls_context
from ..store import db as dbm
from ..store import settings
from . import forward, protocol, pull

log = logging.getLogger(__name__)
EXTENSION = "tracker_node"
BACKOFF_MAX = 10.0
IDLE_SECONDS = 0.05  # how often an idle forwarder asks SQLite whether anything was committed
CLOCK_TOLERANCE = 2.0  # seconds of offset left uncorrected (the Date header's resolution)


class Refused(Exception):
    """Central refused this node: its token (revoked or unknown: 401, 403) or, until an
    organizer decides, its file or its protocol (409)."""


class Link:
    """What the node knows of its link to central, for /healthz and the tasks."""

    def __init__(self, config: MutableMapping[str, Any]):
        """`config` is the app's (a pull sets its ATTENDEE_COOKIE_KEY to central's)."""
        self.config = config
        self.upstream = config["NODE_UPSTREAM"].rstrip("/")
        self.token = config["NODE_TOKEN"] or ""
        self.pull_seconds = float(config.get("NODE_PULL_SECONDS", 2.0))
        self.state = "starting"  # "up", "down", "refused"
        self.error: str | None = None
        self.clock_offset: float | None = None  # seconds to add to this clock to get central's
        self.idle_version: int | None = None  # PRAGMA data_version when the outbox was empty
        self.watch: Any = None  # a connection of the forwarder's own, to see others' commits
        self.started = False
        # Calls are numbered as they read the count of acknowledged records, under one lock, so a
        # later number never carries a smaller count (central tells an overtaken call by it).
        self.process = uuid.uuid4().hex[:12]
        self.calls = 0
        self.counting = threading.Lock()

    def db(self) -> Any:
        return dbm.thread_db(self.config["DATABASE"], self.config["SYNCHRONOUS"])

    def offset(self) -> float:
        """The correction applied to the times this node sends: none within CLOCK_TOLERANCE
        (the Date header counts whole seconds), else the measured offset."""
        measured = self.clock_offset or 0.0
        return measured if abs(measured) > CLOCK_TOLERANCE else 0.0

    def request(self, method: str, path: str, body: object = None, timeout: float = 10) -> Any:
        """One call to central's node API, with the token, the protocol version, this node's
        file, backlog and clock; central's Date header measures the clock's offset."""
        db = self.db()
        backlog = forward.backlog(db)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.upstream + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header(protocol.PROTOCOL_HEADER, str(protocol.PROTOCOL))
        req.add_header(protocol.FILE_HEADER, forward.file_id(db))
        with self.counting:
            self.calls += 1
            req.add_header(protocol.FORWARDED_HEADER, str(forward.forwarded(db)))
            req.add_header(protocol.REPORT_HEADER, f"{self.process}.{self.calls}")
        req.add_header(protocol.WAITING_HEADER, str(backlog["waiting"]))
        req.add_header(protocol.OLDEST_HEADER, str(backlog["oldest_seconds"]))
        req.add_header(protocol.PARKED_HEADER, str(backlog["parked"]))
        if self.clock_offset is not None:
            req.add_header(protocol.OFFSET_HEADER, f"{self.clock_offset:.1f}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        sent = time.time()
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=tls_context()) as answer:
                result = json.loads(answer.read())
                self._measure(answer.headers.get("Date"), sent, time.time())
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403, 409):
                detail = _detail(exc)
                self.state, self.error = "refused", f"central refused this node: {detail}"
                raise Refused(self.error) from None
            raise
        self.state, self.error = "up", None
        return result

    def _measure(self, date: str | None, sent: float, received: float) -> None:
        """Central's clock against ours, from its Date header (whole seconds, so the middle of
        the call is compared with the middle of central's second)."""
        if not date:
            return
        try:
            central = parsedate_to_datetime(date).timestamp() + 0.5
        except (TypeError, ValueError):
            return
        self.clock_offset = round(central - (sent + received) / 2, 1)

    def forward_once(self) -> int:
        """Send one batch from the outbox; how many records it covered (0: nothing waiting)."""
        db = self.db()
        # A commit by any other connection (the serving one included) moves this connection's
        # data_version (about 2 microseconds to ask): until one does, an empty outbox stays
        # empty and is not read again.
        if self.watch is None:
            self.watch = dbm.connect(self.config["DATABASE"], self.config["SYNCHRONOUS"])
        version = self.watch.execute("PRAGMA data_version").fetchone()[0]
        if version == self.idle_version:
            return 0
        covered, records = forward.next_batch(db, offset_seconds=self.offset())
        if not covered:
            self.idle_version = version
            return 0
        answer = self.request("POST", "/api/node/records", {"records": records}) if records else {}
        forward.acknowledge(db, covered, records, answer)
        return len(covered)

    def pull_once(self) -> None:
        """Fetch and store the setup and the change feed of the location after this node's
        position in it, and the event's figures."""
        db = self.db()
        setup = self.request("GET", f"/api/node/setup?changes_after={pull.position(db)}")
        pull.apply_setup(db, setup)
        self.config["ATTENDEE_COOKIE_KEY"] = setup["cookie_key"]
        pull.note_pulled(db, datetime.now(UTC))

    def attendee_by_badge(self, event_id: int, badge: str) -> bool:
        """Ask central for an attendee by badge code and store them here; whether central knew
        them. Quick (3 s), for a staff page waiting on it; False when central cannot answer."""
        path = "/api/node/badges/" + urllib.parse.quote(badge)
        try:
            found = self.request("GET", path, timeout=3)
        except (Refused, OSError, ValueError, urllib.error.HTTPError):
            return False
        pull.adopt_attendee(self.db(), event_id, found)
        return True

    def pull_step(self) -> bool:
        self.pull_once()
        return False  # then wait NODE_PULL_SECONDS

    def run(self, step: Any, pause: float) -> None:
        """Call `step` again and again: after `pause` when it did nothing, at once when it
        did, and with a growing wait (up to BACKOFF_MAX) while central is unreachable."""
        backoff = 0.5
        while True:
            try:
                did = step()
                backoff = 0.5
                time.sleep(0 if did else pause)
            except Exception as exc:  # unreachable, refused, or a bad answer: try again later
                if not isinstance(exc, Refused):
                    self.state, self.error = "down", f"{type(exc).__name__}: {exc}"
                log.warning("node link: %s", self.error)
                time.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)

    def start(self) -> None:
        if self.started:
            return
        self.started = True
        # In the serving process (gevent, monkey-patched) these threads are greenlets.
        for step, pause in ((self.forward_once, IDLE_SECONDS), (self.pull_step, self.pull_seconds)):
            threading.Thread(target=self.run, args=(step, pause), daemon=True).start()

    def health(self) -> dict[str, Any]:
        """What /healthz reports on a node."""
        db = self.db()
        pulled = settings.get(db, "node_pulled_at")
        age = None
        if pulled:
            age = round((datetime.now(UTC) - dbm.parse_iso(pulled)).total_seconds(), 1)
        return {
            "forward": forward.backlog(db),
            "link": {
                "state": self.state,
                "pulled_seconds_ago": age,
                "error": self.error,
                "clock_offset_seconds": self.clock_offset,
            },
        }


def _detail(exc: urllib.error.HTTPError) -> str:
    """Central's words from an error answer ({"error", "detail"}), else its status."""
    try:
        body = json.loads(exc.read())
        return f"{body['error']}: {body['detail']}"
    except (ValueError, KeyError, TypeError, OSError):
        return f"HTTP {exc.code}"


def start_node(config: MutableMapping[str, Any], serving: bool) -> Link | None:
    """On a node (NODE_UPSTREAM set): mark the database, take the cookie key from the last
    pull, and in the serving process start the link's tasks. None on central."""
    if not config.get("NODE_UPSTREAM"):
        return None
    link = Link(config)
    db = link.db()
    with dbm.write(db):
        pull.set_node_mode(db, True)
        settings.put(db, "node", "1")  # no change feed here: that is central's
    forward.file_id(db)
    key = settings.get(db, "node_cookie_key")
    if key:
        config["ATTENDEE_COOKIE_KEY"] = key
    if serving:
        link.start()
    return link
