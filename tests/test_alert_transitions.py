"""Alerts follow transitions, queued in the write's own transaction: a conversation corrected
into a detractor's or given a follow-up alerts once, however it got there; a held story alerts
once it is trusted; a new owner who is an e-mail address is told."""

from __future__ import annotations

import uuid

from tracker.contract.requests import ConversationIn
from tracker.corrections import holds
from tracker.event import lookups as events
from tracker.followups import alerts
from tracker.followups import changes as followups
from tracker.store import db as dbm
from tracker.stories import edits
from tracker.stories import record as conversations


def settings() -> alerts.Settings:
    return alerts.Settings(
        smtp_host="127.0.0.1", emails=("cx@example.com",), webhook_url="http://127.0.0.1:9/h"
    )


def subjects(db) -> list[str]:
    return [r[0] for r in db.execute("SELECT subject FROM notifications ORDER BY id")]


def test_a_correction_into_a_detractor_with_a_follow_up_alerts_once(db, event, staff_author):
    s = settings()
    alerts.enqueue_new(db, s)
    event = events.get_event(db)
    first = ConversationIn(id=uuid.uuid4(), story="Great", nps=9)
    record, _ = conversations.record(db, event, first, staff_author)
    assert alerts.enqueue_new(db, s) == 0
    corrected = ConversationIn(id=first.id, story="Actually poor", nps=2, follow_up=True,
                               contact="sam@example.org", revision=2)  # fmt: skip
    edits.put(db, event, corrected, staff_author)
    assert alerts.enqueue_new(db, s) == 2  # one alert (e-mail and webhook) for both reasons
    assert subjects(db)[0].startswith("Detractor (2/10), follow-up owed")
    again = ConversationIn(id=first.id, story="Poor", nps=1, follow_up=True, revision=3)
    edits.put(db, event, again, staff_author)
    assert alerts.enqueue_new(db, s) == 0  # once per conversation


def test_a_new_owner_who_is_an_address_is_told(db, event, staff_author):
    s = settings()
    alerts.enqueue_new(db, s)
    data = ConversationIn(id=uuid.uuid4(), story="Call me", nps=8, follow_up=True)
    record, _ = conversations.record(db, events.get_event(db), data, staff_author)
    alerts.enqueue_new(db, s)
    followups.assign(db, event["id"], record["id"], "kim@example.com", "Ann Murphy")
    followups.assign(db, event["id"], record["id"], "Kim at the desk", "Ann Murphy")
    assert alerts.enqueue_new(db, s) == 1
    (recipient, subject) = db.execute(
        "SELECT recipient, subject FROM notifications ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert recipient == "kim@example.com" and subject.startswith(f"{record['reference']} is yours")


def test_a_held_story_alerts_once_its_network_is_trusted(db, event, staff_author):
    s = settings()
    alerts.enqueue_new(db, s)
    data = ConversationIn(id=uuid.uuid4(), story="Awful", nps=0)
    record, _ = conversations.record(db, events.get_event(db), data, staff_author)
    with dbm.write(db):  # held, as a check-in past its address's allowance would be
        db.execute(
            "UPDATE conversations SET held_from = '203.0.113.9' WHERE uuid = ?", [record["id"]]
        )
    assert alerts.enqueue_new(db, s) == 0  # held: not yet
    holds.trust(db, event["id"], "203.0.113.9", "Ann Murphy")
    assert alerts.enqueue_new(db, s) == 2
