"""Check-ins against a real server process: concurrency, one id sent many times, SIGKILL mid-load."""

from __future__ import annotations

import random
import sqlite3
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from .conftest import LiveServer
from .helpers import phone_session, wait_until

pytestmark = pytest.mark.live

UNLIMITED = {"RATELIMIT_ENABLED": "0"}


@pytest.fixture
def server(db_path, event):
    live = LiveServer(db_path, UNLIMITED).start()
    yield live
    live.stop(kill=True)  # nothing to drain: the test is over


def checkin(session: requests.Session, url: str, code: str, checkin_id: str | None = None):
    body = {"station": code} if checkin_id is None else {"station": code, "id": checkin_id}
    return session.post(f"{url}/api/checkins", json=body, timeout=10)


def phones(url: str, code: str, n: int) -> list[requests.Session]:
    """n attendees, each with the cookie its first check-in gave it."""
    sessions = []
    for _ in range(n):
        s = phone_session()
        assert checkin(s, url, code).status_code == 201
        sessions.append(s)
    return sessions


def totals(db_path) -> dict:
    with sqlite3.connect(db_path) as conn:
        counted, repeats = conn.execute(
            "SELECT sum(checkins), sum(repeat_checkins) FROM station_totals"
        ).fetchone()
        rows = dict(conn.execute("SELECT counted, count(*) FROM checkins GROUP BY counted"))
        pairs = conn.execute(
            "SELECT count(*) FROM (SELECT DISTINCT attendee_id, station_id FROM checkins)"
        ).fetchone()[0]
    return {
        "counted": counted,
        "repeats": repeats,
        "rows_counted": rows.get(1, 0),
        "rows_repeat": rows.get(0, 0),
        "pairs": pairs,
    }


def test_2000_checkins_from_50_attendees_on_8_threads_count_each_pair_once(server, event, db_path):
    codes = [s["code"] for s in event["stations"].values()]
    sessions = phones(server.url, codes[0], 50)
    sent_pairs = {(i, codes[0]) for i in range(50)}
    rng = random.Random(7)
    plan = [(rng.randrange(50), rng.choice(codes)) for _ in range(2000)]
    sent_pairs |= set(plan)
    locks = [threading.Lock() for _ in sessions]  # requests.Session is not thread-safe

    def send(item):
        who, code = item
        with locks[who]:
            return checkin(sessions[who], server.url, code).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(send, plan))
    assert statuses.count(201) == 2000
    t = totals(db_path)
    assert t["counted"] == t["rows_counted"] == t["pairs"] == len(sent_pairs)
    assert t["repeats"] == t["rows_repeat"] == 2050 - len(sent_pairs)


def test_the_same_id_sent_20_times_at_once_makes_one_row(server, event, db_path):
    code = event["stations"]["booth"]["code"]
    (phone,) = phones(server.url, event["stations"]["demo"]["code"], 1)
    cookie = phone.cookies.get("tracker_attendee")
    checkin_id = str(uuid.uuid4())
    start = threading.Barrier(20)

    def send(_):
        s = phone_session()
        s.cookies.set("tracker_attendee", cookie)
        start.wait()
        r = checkin(s, server.url, code, checkin_id)
        return r.status_code, r.json()["checkin"]

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(send, range(20)))
    assert sorted(status for status, _ in answers) == [200] * 19 + [201]
    assert len({str(record) for _, record in answers}) == 1  # every answer is the same record
    with sqlite3.connect(db_path) as conn:
        one = conn.execute("SELECT count(*) FROM checkins WHERE uuid = ?", [checkin_id]).fetchone()
        assert one[0] == 1
        assert conn.execute("SELECT count(*) FROM checkins").fetchone()[0] == 2
    assert totals(db_path)["counted"] == 2


def test_sigkill_mid_load_loses_no_acknowledged_checkin(db_path, event):
    codes = [s["code"] for s in event["stations"].values()]
    server = LiveServer(db_path, UNLIMITED).start()
    try:
        sessions = phones(server.url, codes[0], 12)
    except BaseException:
        server.stop(kill=True)
        raise
    acknowledged: list[list[tuple[str, str]]] = [[] for _ in sessions]
    stop = threading.Event()

    def load(i: int) -> None:
        rng = random.Random(i)
        while not stop.is_set():
            checkin_id, code = str(uuid.uuid4()), rng.choice(codes)
            try:
                r = checkin(sessions[i], server.url, code, checkin_id)
            except requests.RequestException:
                return  # the server is gone
            if r.status_code in (200, 201):
                acknowledged[i].append((checkin_id, code))

    threads = [threading.Thread(target=load, args=(i,)) for i in range(len(sessions))]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: sum(map(len, acknowledged)) >= 300, 30, "300 acknowledged check-ins")
    finally:
        server.stop(kill=True)  # SIGKILL, the server and its worker, while requests are in flight
        stop.set()
        for t in threads:
            t.join(10)
    ids = [checkin_id for per_thread in acknowledged for checkin_id, _ in per_thread]
    assert len(ids) >= 300

    restarted = LiveServer(db_path, UNLIMITED).start()
    try:
        with sqlite3.connect(db_path) as conn:
            stored = {row[0] for row in conn.execute("SELECT uuid FROM checkins")}
        assert set(ids) <= stored, f"{len(set(ids) - stored)} acknowledged check-ins lost"
        t = totals(db_path)
        assert t["counted"] == t["rows_counted"] == t["pairs"]
        assert t["repeats"] == t["rows_repeat"]
        # The restarted server carries on with the same attendees: a phone's retry of an
        # acknowledged id is a 200 repeat, and a new scan is stored.
        who = next(i for i, acks in enumerate(acknowledged) if acks)
        checkin_id, code = acknowledged[who][-1]
        assert checkin(sessions[who], restarted.url, code, checkin_id).status_code == 200
        assert checkin(sessions[who], restarted.url, code).status_code == 201
    finally:
        restarted.stop(kill=True)


def test_a_chunked_body_is_read_and_a_chunked_flood_refused(server, event, db_path):
    """Without Content-Length the size cap still holds, chunk by chunk."""
    code = event["stations"]["demo"]["code"]
    body = f'{{"station": "{code}", "id": "{uuid.uuid4()}"}}'.encode()
    ok = requests.post(
        f"{server.url}/api/checkins",
        data=iter([body[:10], body[10:]]),  # a generator: requests sends it chunked
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert ok.status_code == 201 and ok.json()["counted"] is True
    assert ok.request.headers.get("Transfer-Encoding") == "chunked"
    flood = requests.post(
        f"{server.url}/api/checkins",
        data=iter([b'{"station": "' + b"x" * 1000] * 5 + [b'"}']),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert flood.status_code == 413 and flood.json()["error"] == "body_too_large", flood.text
    assert totals(db_path)["rows_counted"] == 1
