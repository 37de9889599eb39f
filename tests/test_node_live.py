"""A central and a location node, real processes from this checkout on different ports and
files; the node's link to central goes through a proxy the test controls, so it can be cut
while central keeps serving phones of its own."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
import requests
from werkzeug.security import check_password_hash

from tracker.event import setup as eventsetup
from tracker.node import enrol
from tracker.store import db as dbm

from .conftest import LiveServer

UNION_SECONDS = 30


class Proxy:
    """A TCP proxy to central; `cut()` drops every connection and refuses new ones."""

    def __init__(self, target_port: int):
        self.target = ("127.0.0.1", target_port)
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
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
                with self.lock:
                    self.open.discard(s)

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


def wait_for(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


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


@pytest.fixture
def central_and_node(tmp_path: Path, db_path: Path, db, event):
    """Central on the small event, one node for Cork behind a proxy; everything stopped after."""
    node_record, token = enrol.add(db, event, "cork")
    central = LiveServer(db_path, env={"RATELIMIT_ENABLED": "0"})
    started: list = []
    proxy = None
    try:
        central.start()
        started.append(central)
        proxy = Proxy(central.port)
        node = LiveServer(
            tmp_path / "node.db",
            env={
                "TRACKER_UPSTREAM": proxy.url,
                "TRACKER_NODE_TOKEN": token,
                "NODE_PULL_SECONDS": "0.5",
                "RATELIMIT_ENABLED": "0",
                "SECRET_KEY": "another-secret-on-the-node",
            },
        )
        node.start()
        started.append(node)
        wait_for(lambda: health(node)["link"]["pulled_seconds_ago"] is not None, 20, "a pull")
        yield central, node, proxy, node_record
    finally:
        for server in reversed(started):
            server.stop()
        if proxy is not None:
            proxy.close()


def test_records_through_the_node_reach_central_and_converge_after_a_cut(
    central_and_node, db, event
):
    central, node, proxy, node_record = central_and_node
    booth, demo = (event["stations"][s]["code"] for s in ("booth", "demo"))

    # Link up: a check-in and a story through the node reach central's board.
    first = requests.Session()
    check_in(first, node, booth)
    tell(first, node, booth, 10)
    wait_for(lambda: board(central)["checkins"] == 1 and board(central)["conversations"] == 1,
             10, "central to count the node's records")  # fmt: skip

    # The same phone (one cookie) is one attendee on central too.
    cookie = first.cookies.get("tracker_attendee")
    at_central = requests.Session()
    at_central.cookies.set("tracker_attendee", cookie)
    assert check_in(at_central, central, booth)["counted"] is False
    assert check_in(at_central, central, demo)["counted"] is True

    # The link is cut: the node takes 500 check-ins and 50 stories, and its board moves.
    proxy.cut()
    before = board(node, "cork")["location"]["total"]
    both_sides = requests.Session()  # one phone, one cookie, at the same station on both sides
    check_in(both_sides, central, demo)  # the cookie comes from central ...
    assert check_in(both_sides, node, demo)["counted"] is True  # ... a "first" at the node too
    phones = [requests.Session() for _ in range(200)]
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

    # The link returns: within 30 s central holds the union, exactly, and the backlog is 0.
    proxy.restore()
    started = time.monotonic()
    wait_for(lambda: health(node)["forward"]["waiting"] == 0, UNION_SECONDS, "an empty backlog")
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

    wait_for(node_holds_the_union, UNION_SECONDS - (time.monotonic() - started), "the union")

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
    phone = requests.Session()
    check_in(phone, node, event["stations"]["booth"]["code"])  # the location goes on
    time.sleep(1)
    assert health(node)["forward"]["waiting"] >= 1
    assert board(central)["checkins"] == 0
