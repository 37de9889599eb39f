"""Alerts that strangers cannot drive: an attendee's own stories alert a few times a minute per
attendee and per address, then as one digest a minute; the webhook's text is escaped by Slack's
rules; the two channels are sent apart."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from tracker.checkins import record as checkins
from tracker.contract.requests import ConversationIn
from tracker.event import lookups as events
from tracker.followups import alerts
from tracker.store import db as dbm
from tracker.stories import record as conversations

T0 = datetime(2026, 10, 7, 10, 0, tzinfo=UTC)


def settings(**changes) -> alerts.Settings:
    return alerts.Settings(**{"webhook_url": "http://127.0.0.1:9/hook", **changes})


def own_story(db, event, ip: str, nps: int = 0, story: str = "Terrible") -> None:
    """A new phone at `ip` checks in and tells a detractor's story with a follow-up."""
    station = event["stations"]["booth"]
    done = checkins.check_in(db, event, station["code"], None, client_ip=ip)
    data = ConversationIn(id=uuid.uuid4(), story=story, nps=nps, follow_up=True,
                          contact="x@example.org")  # fmt: skip
    author = conversations.Author("attendee", station["id"], attendee_id=done.attendee["id"])
    conversations.record(db, events.get_event(db), data, author)


def at(seconds: float) -> str:
    return dbm.iso(T0 + timedelta(seconds=seconds))


def webhook_texts(db) -> list[str]:
    return [r[0] for r in db.execute("SELECT subject FROM notifications ORDER BY id")]


def test_one_address_makes_three_alerts_a_minute_then_one_digest(db, event):
    s, digests = settings(per_source_minute=3), alerts.Digests()
    alerts.enqueue_new(db, s, at(0), digests)  # the first pass sets the watermark
    for _ in range(40):
        own_story(db, event, "203.0.113.9")
    alerts.enqueue_new(db, s, at(1), digests)
    assert len(webhook_texts(db)) == 3 + 1  # three alerts, then one digest of the other 37
    digest = db.execute("SELECT body FROM notifications ORDER BY id DESC").fetchone()[0]
    assert "37 detractors or follow-ups" in digest and "T-10" in digest
    for _ in range(40):
        own_story(db, event, "203.0.113.9")
    for second in range(2, 60, 5):  # a pass every 5 s within the minute: nothing more
        alerts.enqueue_new(db, s, at(second), digests)
    assert len(webhook_texts(db)) == 4
    alerts.enqueue_new(db, s, at(62), digests)  # a minute on: what waited leaves as one digest
    assert webhook_texts(db)[4:] == ["40 more alerts from one address in the last minute"]


def test_another_address_and_staff_are_not_held_back(db, event):
    s, digests = settings(per_source_minute=3), alerts.Digests()
    alerts.enqueue_new(db, s, at(0), digests)
    for _ in range(10):
        own_story(db, event, "203.0.113.9")
    own_story(db, event, "198.51.100.7")
    alerts.enqueue_new(db, s, at(1), digests)
    subjects = webhook_texts(db)
    assert len(subjects) == 3 + 1 + 1  # 3 from the busy address, its digest, 1 from the other


def test_attendee_text_in_the_webhook_is_escaped_as_slack_asks():
    text = alerts.slack_text("<!channel> & <https://evil.example|Open the follow-up>")
    assert text == "&lt;!channel&gt; &amp; &lt;https://evil.example|Open the follow-up&gt;"
    assert json.loads(json.dumps({"text": text}))["text"].count("<") == 0


def test_each_channel_is_sent_apart(db, event):
    s = settings(smtp_host="127.0.0.1", smtp_port=9, emails=("cx@example.com",),
                 retry_seconds=0.0, max_attempts=3)  # fmt: skip
    alerts.enqueue_new(db, s, at(0))
    own_story(db, event, "203.0.113.9")
    alerts.enqueue_new(db, s, at(1))
    assert alerts.send_due(db, s, at(2), channel="webhook") == {"sent": 0, "failed": 1}
    channels = dict(db.execute("SELECT channel, attempts FROM notifications").fetchall())
    assert channels == {"email": 0, "webhook": 1}  # the e-mail was not touched
