"""A central and a location node, real processes from this checkout on different ports and
files; the node's link to central goes through a proxy the test controls, so it can be cut
while central keeps serving phones of its own."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import pytest
import requests
from werkzeug.security import check_password_hash

from tracker.corrections import erasure, voids
from tracker.event import setup as eventsetup
from tracker.node import enrol
from tracker.store import db as dbm

from .conftest import LiveServer
from .helpers import csrf_token, phone_session

pytestmark = pytest.mark.live

# A bound against a hang, not a promise: how fast a node's backlog drains to central is measured
# by `scripts/bench node` (README, Performance). A 30 s deadline here, on a machine loaded six
# times over, failed a run in which nothing was wrong.
HANG_SECONDS = 180
DATE = re.compile(rb"Date: ([A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT)")


class Proxy:
    """A TCP proxy to central; `cut()` drops every connection and refuses new ones. With
    `date_shift` (seconds) it moves the Date header of central's answers: a node whose clock is
    off by the opposite amount."""

    def __init__(self, target_port: int, date_shift: float = 0):
        self.target = ("127.0.0.1", target_port)
        self.date_shift = date_shift
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.up = True
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while self.running:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open.update((client, upstream))
            for a, b, answers in ((client, upstream, False), (upstream, client, True)):
                threading.Thread(target=self._pump, args=(a, b, answers), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, answers: bool) -> None:
        held = b""  # the start of a Date header cut by the end of a read: held for the next one
        try:
            while data := src.recv(65536):
                if answers and self.date_shift:
                    data = DATE.sub(self._shifted, held + data)
                    held = b""
                    start = data.rfind(b"\n") + 1
                    tail = data[start:]
                    if tail and len(tail) < 40 and tail[:6] == b"Date: "[: len(tail[:6])]:
                        data, held = data[:start], tail
                dst.sendall(data)
            dst.sendall(held)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
                with self.lock:
                    self.open.discard(s)

    def _shifted(self, found: re.Match) -> bytes:
        moment = parsedate_to_datetime(found.group(1).decode()) + timedelta(seconds=self.date_shift)
        return b"Date: " + format_datetime(moment, usegmt=True).encode()

    def cut(self) -> None:
        self.up = False
        with self.lock:
            for s in list(self.open):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.running = False
        self.cut()
        self.listener.close()


def health(server) -> dict:
    with urllib.request.urlopen(server.url + "/healthz", timeout=5) as answer:
        return json.loads(answer.read())


def wait_for(check, seconds: float, what: str, *servers):
    """Poll `check` until true; past `seconds`, fail saying what was awaited and what each of
    `servers` (a node, central) logged last."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    logs = "".join(f"\n--- {s.url}:\n{s.log_tail()}" for s in servers)
    raise AssertionError(f"gave up waiting for {what}{logs}")


def check_in(phone: requests.Session, server, code: str) -> dict:
    answer = phone.post(
        server.url + "/api/checkins", json={"station": code, "id": str(uuid.uuid4())}, timeout=10
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def tell(phone: requests.Session, server, code: str, nps: int) -> None:
    body = {"id": str(uuid.uuid4()), "station": code, "story": f"story {nps}", "nps": nps}
    answer = phone.post(server.url + "/api/conversations", json=body, timeout=10)
    assert answer.status_code == 201, answer.text


def board(server, location: str | None = None) -> dict:
    query = f"?location={location}" if location else ""
    answer = requests.get(server.url + "/api/scoreboard" + query, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def expected_from_rows(db) -> dict:
    """The counting rules applied to the rows: check-ins counted once per attendee and
    station, attendees' own stories once per attendee and station (with their NPS)."""
    stations = {
        sid: {"checkins": n}
        for sid, n in db.execute(
            "SELECT c.station_id, count(DISTINCT a.token) FROM checkins c"
            " JOIN attendees a ON a.id = c.attendee_id WHERE c.voided_at IS NULL"
            " GROUP BY c.station_id"
        ).fetchall()
    }
    return stations


@contextlib.contextmanager
def running_pair(tmp_path: Path, db_path: Path, db, event, date_shift: float = 0):
    """Central on the small event, one node for Cork behind a proxy; everything stopped after
    (killed: nothing to drain)."""
    node_record, token = enrol.add(db, event, "cork")
    central = LiveServer(db_path, env={"RATELIMIT_ENABLED": "0"})
    started: list = []
    proxy = None
    try:
        central.start()
        started.append(central)
        proxy = Proxy(central.port, date_shift=date_shift)
        node = LiveServer(tmp_path / "node.db", env=node_env(proxy, token))
        node.start()
        started.append(node)
        wait_for(lambda: health(node)["link"]["pulled_seconds_ago"] is not None, 20, "a pull")
        yield central, node, proxy, node_record
    finally:
        for server in reversed(started):
            server.stop(kill=True)
        if proxy is not None:
            proxy.close()


def node_env(proxy: Proxy, token: str) -> dict:
    return {
        "TRACKER_UPSTREAM": proxy.url,
        "TRACKER_NODE_TOKEN": token,
        "NODE_PULL_SECONDS": "0.5",
        "RATELIMIT_ENABLED": "0",
        "SECRET_KEY": "another-secret-on-the-node",
    }


@pytest.fixture
def central_and_node(tmp_path: Path, db_path: Path, db, event):
    with running_pair(tmp_path, db_path, db, event) as pair:
        yield pair


def test_records_through_the_node_reach_central_and_converge_after_a_cut(
    central_and_node, db, event
):
    central, node, proxy, node_record = central_and_node
    booth, demo = (event["stations"][s]["code"] for s in ("booth", "demo"))

    # Link up: a check-in and a story through the node reach central's board.
    first = phone_session()
    check_in(first, node, booth)
    tell(first, node, booth, 10)
    wait_for(lambda: board(central)["checkins"] == 1 and board(central)["conversations"] == 1,
             10, "central to count the node's records")  # fmt: skip

    # The same phone (one cookie) is one attendee on central too.
    cookie = first.cookies.get("tracker_attendee")
    at_central = phone_session()
    at_central.cookies.set("tracker_attendee", cookie)
    assert check_in(at_central, central, booth)["counted"] is False
    assert check_in(at_central, central, demo)["counted"] is True

    # The link is cut: the node takes 500 check-ins and 50 stories, and its board moves.
    proxy.cut()
    before = board(node, "cork")["location"]["total"]
    both_sides = phone_session()  # one phone, one cookie, at the same station on both sides
    check_in(both_sides, central, demo)  # the cookie comes from central ...
    assert check_in(both_sides, node, demo)["counted"] is True  # ... a "first" at the node too
    phones = [phone_session() for _ in range(200)]
    taken = 1
    for phone in phones:
        check_in(phone, node, booth)
        check_in(phone, node, demo)
        taken += 2
    for phone in phones[:99]:
        check_in(phone, node, booth)  # repeats: stored, not counted
        taken += 1
    assert taken == 500
    for i, phone in enumerate(phones[:50]):
        tell(phone, node, booth, i % 11)
    during = board(node, "cork")
    assert during["location"]["total"] >= before + 400 + 50  # its own location, live
    # The whole event's figures on the node are central's, as of the last pull before the cut.
    frozen = board(node)
    assert frozen["as_of"] is not None and frozen["as_of"] < during["updated_at"]
    assert frozen["location"] is None and board(central)["as_of"] is None
    waiting = health(node)["forward"]["waiting"]
    assert waiting >= 500
    assert health(node)["link"]["state"] == "down"

    # The link returns: central holds the union, exactly, and the backlog is 0.
    proxy.restore()
    wait_for(
        lambda: health(node)["forward"]["waiting"] == 0,
        HANG_SECONDS,
        "an empty backlog",
        node,
        central,
    )
    central_checkins = {r[0] for r in db.execute("SELECT uuid FROM checkins")}
    central_stories = {r[0] for r in db.execute("SELECT uuid FROM conversations")}
    assert len(central_checkins) == 1 + 500 + 3  # nothing lost, nothing doubled

    def node_holds_the_union() -> bool:
        """The node has pulled central's own records of its location back (next pull)."""
        node_db = dbm.connect(node.db_path)
        try:
            checkins = {r[0] for r in node_db.execute("SELECT uuid FROM checkins")}
            stories = {r[0] for r in node_db.execute("SELECT uuid FROM conversations")}
        finally:
            node_db.close()
        return checkins == central_checkins and stories == central_stories

    wait_for(node_holds_the_union, HANG_SECONDS, "the union")

    # Central's figures are the counting rules on the union, per station and per attendee.
    per_station = dict(
        db.execute(
            "SELECT station_id, count(DISTINCT attendee_id) FROM checkins GROUP BY station_id"
        ).fetchall()
    )
    totals = dict(db.execute("SELECT station_id, checkins FROM station_totals").fetchall())
    for station_id, distinct in per_station.items():
        assert totals[station_id] == distinct
    # 201 phones at the booth, 202 at the demo corner (the two phones that went to central too)
    assert board(central)["checkins"] == 201 + 202
    (twice,) = db.execute(
        "SELECT count(*) FROM checkins c JOIN attendees a ON a.id = c.attendee_id"
        " WHERE a.token = ? AND c.station_id = ? AND c.counted = 1",
        [both_sides_token(both_sides), event["stations"]["demo"]["id"]],
    ).fetchone()
    assert twice == 1  # a "first" on both sides counts once
    nps = board(central)["nps"]
    assert nps["responses"] == 51
    assert nps["promoters"] == 1 + sum(1 for i in range(50) if i % 11 >= 9)
    assert nps["detractors"] == sum(1 for i in range(50) if i % 11 <= 6)

    # The node's own board converges to central's figures for its location.
    wait_for(
        lambda: (
            board(node, "cork")["location"]["total"] == board(central, "cork")["location"]["total"]
            and board(node)["total"] == board(central)["total"]
        ),
        10,
        "the node's board to converge",
    )
    assert board(node)["as_of"] > frozen["as_of"]  # pulled again once the link was back

    # Changes made on central reach the node: a renamed station, a reset PIN.
    booth_id = event["stations"]["booth"]["id"]
    eventsetup.rename(db, "stations", booth_id, "Front desk")
    new_pin = eventsetup.reset_pin(db, booth_id)
    wait_for(
        lambda: any(s["name"] == "Front desk" for s in board(node, "cork")["location"]["stations"]),
        10,
        "the new name on the node",
    )
    node_db = dbm.connect(node.db_path)
    try:
        (pin_hash,) = node_db.execute(
            "SELECT pin_hash FROM stations WHERE code = ?", [booth]
        ).fetchone()
    finally:
        node_db.close()
    assert check_password_hash(pin_hash, new_pin)

    # Central's /admin data: the node's last contact and the backlog it reported.
    (row,) = enrol.nodes(db, event["id"])
    assert row["last_seen_at"] is not None
    assert row["reported_waiting"] == 0 or row["reported_waiting"] is not None


def both_sides_token(session: requests.Session) -> str:
    from itsdangerous import URLSafeSerializer

    from tracker.web.identity import attendee_cookie_key

    key = attendee_cookie_key("live-test-secret")
    return URLSafeSerializer(key, salt="attendee").loads(session.cookies.get("tracker_attendee"))


def test_a_revoked_token_is_refused_at_once(central_and_node, db, event):
    central, node, proxy, node_record = central_and_node
    token_less = requests.get(central.url + "/api/node/setup", timeout=5)
    assert token_less.status_code == 401
    wrong = requests.get(
        central.url + "/api/node/setup", headers={"Authorization": "Bearer nope"}, timeout=5
    )
    assert wrong.status_code == 401
    enrol.revoke(db, event, node_record["id"])
    wait_for(lambda: health(node)["link"]["state"] == "refused", 10, "the node to be refused")
    phone = phone_session()
    check_in(phone, node, event["stations"]["booth"]["code"])  # the location goes on
    wait_for(lambda: health(node)["forward"]["waiting"] >= 1, 10, "the check-in to wait")
    assert health(node)["link"]["state"] == "refused"
    assert board(central)["checkins"] == 0


def node_rows(node, sql: str, params=()) -> list:
    node_db = dbm.connect(node.db_path)
    try:
        return node_db.execute(sql, list(params)).fetchall()
    finally:
        node_db.close()


def test_the_change_feed_clocks_bad_records_and_a_lost_file(tmp_path, db_path, db, event):
    """Each case of Plan B's seams, in figures, on real processes: a node whose clock is ten
    minutes fast, an employee's story with 100 check-ins behind it, corrections on central
    travelling down, an erasure at the node travelling up, a bad record, an empty file."""
    with running_pair(tmp_path, db_path, db, event, date_shift=-600) as pair:
        central, node, proxy, node_record = pair
        booth = event["stations"]["booth"]["code"]
        # The node measures its clock against central's Date header: ten minutes fast.
        offset = wait_for(lambda: health(node)["link"]["clock_offset_seconds"], 10, "an offset")
        assert -602 <= offset <= -598

        # An employee's story at the node's /tce/cork, then 100 check-ins: all reach central.
        teller = phone_session()
        form = teller.get(node.url + "/tce/cork", timeout=10)
        told = teller.post(
            node.url + "/tce/cork",
            data={"csrf_token": csrf_token(form.text), "id": str(uuid.uuid4()),
                  "story": "I fixed a customer's invoice on the spot.", "public": "1"},
            timeout=10,
        )  # fmt: skip
        assert told.status_code in (200, 303), told.text
        phones = [phone_session() for _ in range(100)]
        for phone in phones:
            check_in(phone, node, booth)
        # Forwarded means acknowledged by central: once the node's outbox is empty, central
        # holds them (the bound is against a hang; a loaded machine drains more slowly).
        wait_for(
            lambda: health(node)["forward"]["waiting"] == 0,
            120,
            "the node's outbox to drain",
            node,
            central,
        )
        assert board(central)["checkins"] == 100
        stories = db.execute("SELECT source, counted FROM conversations").fetchall()
        assert stories == [("employee", 0)]
        assert health(node)["forward"] == {"waiting": 0, "oldest_seconds": 0.0, "parked": 0}

        # Their times are central's: ten minutes earlier than the node's own clock said.
        here = {u: t for u, t in node_rows(node, "SELECT uuid, scanned_at FROM checkins")}
        there = dict(db.execute("SELECT uuid, scanned_at FROM checkins").fetchall())
        shifts = {
            round((dbm.parse_iso(there[u]) - dbm.parse_iso(t)).total_seconds())
            for u, t in here.items()
        }
        assert shifts <= {-601, -600, -599}
        assert max(there.values()) < dbm.iso(datetime.now(UTC) - timedelta(seconds=590))

        # Corrections on central reach the node's file and board within two pulls.
        voided = phones[0].cookies  # the first phone's check-in is voided on central
        (first_uuid,) = db.execute("SELECT uuid FROM checkins ORDER BY id LIMIT 1").fetchone()
        before = board(node, "cork")["location"]["total"]
        voids.void(db, event["id"], "checkins", first_uuid, "organizer", "a test scan")
        wait_for(lambda: board(node, "cork")["location"]["total"] == before - 1, 10, "the void")
        assert node_rows(
            node, "SELECT voided_at IS NOT NULL FROM checkins WHERE uuid = ?", [first_uuid]
        ) == [(1,)]
        assert voided is not None

        # An attendee saves details at the node, central erases them, both files agree.
        saver = phones[1]
        page = saver.get(node.url + "/me", timeout=10)
        saved = saver.post(
            node.url + "/me",
            data={"csrf_token": csrf_token(page.text), "name": "Ann Example",
                  "email": "ann@example.org", "company": "", "consent": "yes"},
            timeout=10,
        )  # fmt: skip
        assert saved.status_code in (200, 303)
        wait_for(
            lambda: db.execute("SELECT 1 FROM attendees WHERE name = 'Ann Example'").fetchone(),
            10,
            "the details on central",
        )
        (badge,) = db.execute("SELECT badge FROM attendees WHERE name = 'Ann Example'").fetchone()
        erasure.erase_attendee(db, event["id"], badge, "organizer")
        wait_for(
            lambda: (
                node_rows(node, "SELECT count(*) FROM attendees WHERE name IS NOT NULL") == [(0,)]
            ),
            10,
            "the erasure on the node",
        )

        # A record with a bad time is refused with its reason, and every page stays up.
        token = enrol.add(db, event, "cork")[1]
        headers = {"Authorization": f"Bearer {token}", "X-Tracker-Protocol": "2",
                   "X-Node-File": "a-script", "X-Node-Forwarded": "0"}  # fmt: skip
        record = {"kind": "checkin", "uuid": str(uuid.uuid4()),
                  "station_id": event["stations"]["booth"]["id"], "scanned_at": "garbage",
                  "received_at": "garbage", "attendee": {"token": "t" * 32, "badge": "KKKKKK",
                  "created_at": "2026-10-07T10:00:00Z"}}  # fmt: skip
        answer = requests.post(
            central.url + "/api/node/records", json={"records": [record]}, headers=headers,
            timeout=10,
        )  # fmt: skip
        assert answer.json()["results"][0]["reason"] == "invalid_record"
        for path in ("/board", "/api/scoreboard", "/healthz", "/insights"):
            assert requests.get(central.url + path, timeout=10).status_code == 200, path

        # The node restarted on an empty file is refused and alarmed on both sides.
        node.stop(kill=True)
        empty = LiveServer(tmp_path / "empty.db", env=node_env(proxy, node_token(node)))
        empty.start()
        try:
            state = wait_for(
                lambda: health(empty)["link"]["state"] == "refused" and health(empty)["link"],
                10,
                "the empty node to be refused",
            )
            assert "another database file" in state["error"]
            (listed,) = [n for n in enrol.nodes(db, event["id"]) if n["id"] == node_record["id"]]
            assert "another database file" in listed["alarm"]
        finally:
            empty.stop(kill=True)


def node_token(node) -> str:
    return node.env["TRACKER_NODE_TOKEN"]
