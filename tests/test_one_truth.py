"""One truth: every surface that shows a total, a breakdown, an NPS or a count owed (the board,
Today, the report, /insights, the follow-up queue and its CSV) reads the same figure from the
same seeded event, and every breakdown adds up to its headline, after every correction: closing
a location and a station, a void and its restore, clearing rehearsal data, an erasure."""

from __future__ import annotations

import uuid

from tracker.checkins import record as checkins
from tracker.contract.requests import ConversationIn
from tracker.corrections import erasure, rehearsal, voids
from tracker.event import lookups as events
from tracker.event import setup as eventsetup
from tracker.figures import insights, report, scoreboard, today
from tracker.followups import queue as followup_queue
from tracker.stories import record as conversations


def told(db, event, station: dict, nps: int, follow_up: bool = False, rehearsal=False) -> dict:
    data = ConversationIn(id=uuid.uuid4(), story=f"Scored {nps}", nps=nps, follow_up=follow_up,
                          contact="x@example.org" if follow_up else None)  # fmt: skip
    author = conversations.Author("staff", station["id"], staff_name="Sam")
    record, _ = conversations.record(db, events.get_event(db), data, author, rehearsal=rehearsal)
    return record


def agree(db) -> dict:
    """Every surface's figures for the served event, asserted equal; the headline."""
    event = events.get_event(db)
    board = scoreboard.snapshot(db, event)
    day = today.overview(db, event)
    paper = report.build(db, event)
    kiosk = insights.figures(db, event, limit=0)
    owed_queue = followup_queue.queue(db, event["id"], followup_queue.Filters(), 48.0)
    csv = list(followup_queue.csv_rows(db, event["id"], followup_queue.Filters(), 48.0))
    total = board["total"]
    assert day["progress"]["total"] == paper["progress"]["total"] == total
    assert sum(loc["total"] for loc in board["locations"]) == total
    assert sum(loc["total"] for loc in day["locations"]) == total
    assert sum(st["total"] for st in day["stations"]) == total
    assert sum(loc["total"] for loc in paper["locations"]) == total
    assert sum(n for _, n in paper["location_bars"]) == total
    responses = board["nps"]["responses"]
    assert paper["nps"]["responses"] == kiosk["nps"]["responses"] == responses
    assert sum(paper["nps"]["distribution"].values()) == responses
    assert paper["customer_nps"]["responses"] == responses
    owed = owed_queue["counts"]["open"] + owed_queue["counts"]["acknowledged"]
    assert owed_queue["total"] == len(csv) - 1 == owed
    assert paper["follow_ups"]["open"] + paper["follow_ups"]["acknowledged"] == owed
    assert paper["owed_total"] == owed
    return {"total": total, "responses": responses, "owed": owed}


def test_every_surface_agrees_after_every_correction(db, event):
    booth, demo, corner = (event["stations"][s] for s in ("booth", "demo", "stories"))
    phones = [checkins.check_in(db, event, st["code"], None) for st in [booth] * 5 + [demo] * 3]
    for _ in range(4):
        checkins.check_in(db, event, corner["code"], None)
    told(db, event, booth, 9, follow_up=True)
    told(db, event, demo, 3, follow_up=True)
    told(db, event, corner, 10)
    checkins.check_in(db, event, booth["code"], None, rehearsal=True)
    told(db, event, booth, 0, follow_up=True, rehearsal=True)
    start = agree(db)
    assert start == {"total": 12 + 3 + 2, "responses": 4, "owed": 3}

    cork = db.execute("SELECT id FROM locations WHERE slug = 'cork'").fetchone()[0]
    eventsetup.set_active(db, "stations", demo["id"], False, "Ann Murphy")
    assert agree(db) == start  # a closed station keeps its figures, in every breakdown
    eventsetup.set_active(db, "locations", cork, False, "Ann Murphy")
    assert agree(db) == start  # and so does a closed location

    voids.void(db, event["id"], "checkins", phones[0].checkin["id"], "Ann", "a test scan")
    assert agree(db)["total"] == start["total"] - 1
    voids.restore(db, event["id"], "checkins", phones[0].checkin["id"], "Ann")
    assert agree(db) == start

    rehearsal.clear(db, event["id"], "Ann")
    assert agree(db) == {"total": 15, "responses": 3, "owed": 2}

    erasure.erase_attendee(db, event["id"], phones[1].attendee["badge"], "Ann")
    assert agree(db) == {"total": 15, "responses": 3, "owed": 2}  # an erasure keeps the counts
