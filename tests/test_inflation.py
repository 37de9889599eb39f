"""The inflation run: one address, the default limits, six threads for fifteen seconds, each
loop a check-in without a cookie and then thirty public NPS-10 stories. What it can add to the
headline number is bounded by the cap on new identities per address; the ticker shows none."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import requests
from limits import parse

from tracker import config
from tracker.event import lookups as events
from tracker.figures import scoreboard
from tracker.store import db as dbm

from .conftest import LiveServer

pytestmark = pytest.mark.live

THREADS, SECONDS, STORIES = 6, 15, 30


def board(db_path) -> dict:
    db = dbm.connect(db_path)
    try:
        snap = scoreboard.snapshot(db, events.get_event(db))
        identities = db.execute("SELECT count(*) FROM attendees").fetchone()[0]
    finally:
        db.close()
    return {"snap": snap, "identities": identities}


def test_one_address_cannot_inflate_the_total_the_nps_or_the_ticker(db_path, event):
    server = LiveServer(db_path).start()  # the default limits, as shipped
    code = event["stations"]["booth"]["code"]
    before = board(db_path)
    answers: dict[int, int] = {}
    lock = threading.Lock()
    stop = time.monotonic() + SECONDS

    def count(status: int) -> None:
        with lock:
            answers[status] = answers.get(status, 0) + 1

    def attacker() -> None:
        while time.monotonic() < stop:
            phone = requests.Session()  # a fresh cookie jar every loop
            r = phone.post(f"{server.url}/api/checkins", json={"station": code}, timeout=10)
            count(r.status_code)
            for i in range(STORIES):
                if time.monotonic() >= stop:
                    return
                body = {"id": str(uuid.uuid4()), "station": code, "story": f"Best ever {i}"}
                r = phone.post(
                    f"{server.url}/api/conversations",
                    json={**body, "nps": 10, "public": True},
                    timeout=10,
                )
                count(r.status_code)

    try:
        started = time.time()
        workers = [threading.Thread(target=attacker) for _ in range(THREADS)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        finished = time.time()
        after = board(db_path)
    finally:
        server.stop(kill=True)  # nothing to drain: the run is over

    cap = parse(config.from_env({})["NEW_IDENTITY_LIMIT"])
    # A fixed window: the run may span the end of one window and the start of the next.
    windows = int(finished // cap.get_expiry()) - int(started // cap.get_expiry()) + 1
    new_identities = after["identities"] - before["identities"]
    print(  # the figures, for the README (pytest -s)
        f"answers {answers}; new identities {new_identities} (cap {cap.amount} x {windows});"
        f" total +{after['snap']['total'] - before['snap']['total']};"
        f" NPS {before['snap']['nps']['score']} -> {after['snap']['nps']['score']}"
    )
    assert answers.get(429, 0) > 0, answers
    assert 0 < new_identities <= cap.amount * windows
    grew = after["snap"]["total"] - before["snap"]["total"]
    # Each identity: one counted check-in and one counted story at this station, no more.
    assert grew <= 2 * new_identities
    responses = after["snap"]["nps"]["responses"] - before["snap"]["nps"]["responses"]
    assert responses <= new_identities
    assert after["snap"]["recent"] == []  # waiting for an organizer's approval
