"""The console shows times where people are: the event's time zone (a location's own for its
records), with the offset, never bare UTC."""

from __future__ import annotations

import re
import uuid

from tracker.contract.requests import ConversationIn
from tracker.event import lookups as events
from tracker.followups import changes as followups
from tracker.store import db as dbm
from tracker.stories import record as conversations


def told(db, event, station: str, at: str) -> dict:
    st = event["stations"][station]
    data = ConversationIn(id=uuid.uuid4(), station=st["code"], story="Call me", follow_up=True)
    record, _ = conversations.record(db, events.get_event(db), data,
                                     conversations.Author("staff", st["id"], staff_name="Sam"))  # fmt: skip
    with dbm.write(db):
        db.execute(
            "UPDATE conversations SET captured_at = ?, received_at = ? WHERE uuid = ?",
            [at, at, record["id"]],
        )
    return record


def test_follow_ups_and_the_audit_show_local_times_with_their_offset(admin, db, event):
    cork = told(db, event, "booth", "2026-10-07T13:05:00.000Z")  # Dublin, summer time: 14:05
    told(db, event, "stories", "2026-10-07T13:05:00.000Z")  # Austin (Chicago): 08:05
    followups.add_note(db, event["id"], cork["id"], "Called back", "Ann Murphy")
    page = admin.get("/admin/follow-ups").get_data(as_text=True)
    assert "2026-10-07 14:05 +01:00" in page and "2026-10-07 08:05 -05:00" in page
    assert " UTC" not in page
    audit = admin.get("/admin/audit").get_data(as_text=True)
    assert re.search(r"\d\d:\d\d:\d\d [+-]\d\d:\d\d", audit) and "(UTC)" not in audit
    listing = admin.get("/admin/conversations").get_data(as_text=True)
    assert "2026-10-07 14:05 +01:00" in listing
