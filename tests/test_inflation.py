"""The inflation run against a real server: one address, the default settings, six threads for
fifteen seconds, each loop a new identity (a fresh cookie jar) checked in at ten stations, then
five public NPS-10 stories. Nothing refuses it for its address: past the address's allowance its
records are held, counted nowhere. What it adds to the headline number is bounded by
HOLD_CHECKINS (a minute's worth at once, then that many a minute) and one story per counted
check-in; the ticker shows none."""

from __future__ import annotations

import threading
import time
import tomllib
import uuid

import pytest
from limits import parse

from tracker import config
from tracker.corrections import holds
from tracker.event import file as eventfile
from tracker.event import lookups as events
from tracker.event import setup as eventsetup
from tracker.figures import scoreboard
from tracker.store import db as dbm

from .conftest import SMALL_EVENT, LiveServer
from .helpers import phone_session

pytestmark = pytest.mark.live

THREADS, SECONDS, STATIONS, STORIES = 6, 15, 10, 5


def board(db_path) -> dict:
    db = dbm.connect(db_path)
    try:
        event = events.get_event(db)
        snap = scoreboard.snapshot(db, event)
        held = holds.totals(db, event["id"])
    finally:
        db.close()
    return {"snap": snap, "held": held}


def hall(db) -> list[str]:
    """A hall of ten stands added to the small test event: their codes."""
    data = tomllib.loads(SMALL_EVENT.read_text())
    data["locations"].append(
        {
            "slug": "hall",
            "name": "Hall",
            "city": "Cork",
            "country": "IE",
            "timezone": "Europe/Dublin",
            "stations": [
                {"slug": f"s{i}", "name": f"Stand {i}", "pin": "4444"} for i in range(STATIONS)
            ],
        }
    )
    event = eventsetup.load_event(db, eventfile.parse_event(data)).event
    return [s["code"] for s in events.stations(db, event["id"]) if s["location_slug"] == "hall"]


def test_one_address_cannot_inflate_the_total_the_nps_or_the_ticker(db, db_path, event):
    codes = hall(db)
    server = LiveServer(db_path).start()  # the default settings, as shipped
    before = board(db_path)
    answers: dict[int, int] = {}
    lock = threading.Lock()
    stop = time.monotonic() + SECONDS

    def count(status: int) -> None:
        with lock:
            answers[status] = answers.get(status, 0) + 1

    def attacker() -> None:
        while time.monotonic() < stop:
            phone = phone_session()  # a fresh cookie jar every loop: a new identity
            for code in codes:
                r = phone.post(f"{server.url}/api/checkins", json={"station": code}, timeout=10)
                count(r.status_code)
            for code in codes[:STORIES]:
                if time.monotonic() >= stop:
                    return
                body = {"id": str(uuid.uuid4()), "station": code, "story": "Best ever"}
                r = phone.post(
                    f"{server.url}/api/conversations",
                    json={**body, "nps": 10, "public": True},
                    timeout=10,
                )
                count(r.status_code)

    try:
        workers = [threading.Thread(target=attacker) for _ in range(THREADS)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        after = board(db_path)
    finally:
        server.stop(kill=True)  # nothing to drain: the run is over

    allowance = parse(config.from_env({})["HOLD_CHECKINS"])
    # A minute's worth at once, then the same again each minute: 75 check-ins in fifteen seconds.
    bound = allowance.amount * (1 + (SECONDS + 1) / allowance.get_expiry())
    snap, old = after["snap"], before["snap"]
    grew = snap["total"] - old["total"]
    print(  # the figures, for the README (pytest -s)
        f"answers {answers}; total +{grew} (check-ins +{snap['checkins'] - old['checkins']},"
        f" stories +{snap['conversations'] - old['conversations']}); held {after['held']};"
        f" NPS {old['nps']['score']} -> {snap['nps']['score']}"
    )
    assert answers.get(201, 0) > 0
    assert set(answers) <= {201, 429}, answers  # 429: the phones' own limits, stories per address
    assert snap["checkins"] - old["checkins"] <= bound
    assert snap["conversations"] - old["conversations"] <= snap["checkins"] - old["checkins"]
    assert grew <= 2 * bound
    assert after["held"]["checkins"] > 0
    responses = snap["nps"]["responses"] - old["nps"]["responses"]
    assert responses <= snap["checkins"] - old["checkins"]
    assert snap["recent"] == []  # waiting for an organizer's approval, and held ones never show
