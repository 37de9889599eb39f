"""A customer who knows they were heard: the acknowledgement in their language with owner and due
time, only with consent; the closing note and its signed link; "not resolved" reopening the
follow-up; never for rehearsal, voided, held or node rows; the exports, the audit, erasure; and a
real server's acknowledgement reaching a real SMTP server in German."""

from __future__ import annotations

import csv
import io
import re
import uuid
from email import message_from_bytes, policy

import pytest

from tracker.actions import heard
from tracker.contract.requests import ConversationIn
from tracker.corrections import erasure, voids
from tracker.event import lookups as events
from tracker.followups import changes as followups
from tracker.node import central, enrol, pull
from tracker.people import attendees, profile
from tracker.store import audit
from tracker.store import db as dbm
from tracker.stories import record as conversations

from .conftest import LiveServer
from .helpers import phone_session, wait_until
from .test_alerts import smtp  # noqa: F401 (the real SMTP server fixture)

SENDER = heard.Sender(
    settings=heard.Settings(smtp_host="127.0.0.1"),
    secret="test-secret",
    base_url="https://tracker.example.org",
)
HAPPENED = "2026-10-07T10:00:00.000Z"


def speaks(db, location: str, language: str) -> None:
    with dbm.write(db):
        db.execute("UPDATE locations SET language = ? WHERE slug = ?", [language, location])


def customer(db, event, email="kunde@example.org", consent=True) -> dict:
    """An attendee who gave their details (with consent, unless told otherwise)."""
    with dbm.write(db):
        db.execute(
            "INSERT INTO attendees (event_id, token, badge, email, consent, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [event["id"], uuid.uuid4().hex, uuid.uuid4().hex[:6].upper(), email, int(consent),
             HAPPENED],
        )  # fmt: skip
        return dbm.one(db.execute("SELECT * FROM attendees ORDER BY id DESC LIMIT 1"))


def owed(db, event, badge=None, station="booth", rehearsal=False, **fields) -> dict:
    """A staff-logged conversation that owes a follow-up, as if it happened at HAPPENED."""
    st = event["stations"][station]
    data = ConversationIn(
        id=uuid.uuid4(),
        station=st["code"],
        story=fields.pop("story", "Die Preise sind schwer zu finden"),
        follow_up=fields.pop("follow_up", True),
        attendee_badge=badge,
        **fields,
    )
    author = conversations.Author("staff", st["id"], staff_name="Sam")
    stored, _ = conversations.record(db, events.get_event(db), data, author, rehearsal=rehearsal)
    with dbm.write(db):
        db.execute(
            "UPDATE conversations SET captured_at = ?, received_at = ? WHERE uuid = ?",
            [HAPPENED, HAPPENED, stored["id"]],
        )
    return stored


def sent(db) -> list[dict]:
    return dbm.rows(db.execute("SELECT * FROM notifications ORDER BY id"))


def outcomes(db) -> list[tuple[str, str | None]]:
    return [tuple(r) for r in db.execute("SELECT kind, outcome FROM customer_queue ORDER BY id")]


def test_an_acknowledgement_in_the_customers_language_says_who_owns_it_and_by_when(db, event):
    speaks(db, "cork", "de")
    with dbm.write(db):
        db.execute("UPDATE events SET follow_up_sla_hours = 24")
    someone = customer(db, event)
    story = owed(db, event, badge=someone["badge"], owner="Ann Murphy")
    assert heard.enqueue(db, SENDER) == 1
    (mail,) = sent(db)
    assert (mail["channel"], mail["recipient"]) == ("email", "kunde@example.org")
    assert mail["subject"] == f"Wir haben Sie gehört ({story['reference']})"
    # 10:00 UTC plus 24 hours is 11:00 the next day in Cork (Irish summer time), in German.
    assert "Ann Murphy kümmert sich darum" in mail["body"]
    assert "Donnerstag, 8. Oktober 2026, 11:00 (Dublin)" in mail["body"]
    assert f"Ihre Referenz: {story['reference']}" in mail["body"]
    (message,) = dbm.rows(db.execute("SELECT * FROM customer_messages"))
    assert (message["kind"], message["language"], message["notification_id"]) == (
        "acknowledgement",
        "de",
        mail["id"],
    )
    history = followups.history(db, event["id"], story["id"])
    assert history[-1]["actor"] == "tracker" and "acknowledgement" in history[-1]["text"]
    (row,) = audit.entries(db, event["id"], action="customer.acknowledgement")
    assert row["subject"] == story["reference"] and "kunde@" not in (row["after"] or "")
    assert heard.enqueue(db, SENDER) == 0  # once
    assert outcomes(db) == [("acknowledgement", "sent")]


def test_the_follow_ups_e_mail_contact_is_preferred_and_an_unowned_one_is_our_teams(db, event):
    someone = customer(db, event)
    owed(db, event, badge=someone["badge"], contact="work@example.org")
    heard.enqueue(db, SENDER)
    (mail,) = sent(db)
    assert mail["recipient"] == "work@example.org"
    assert "We heard you, and our team will follow up with you by" in mail["body"]


@pytest.mark.parametrize(
    "setup, outcome",
    [
        ("no badge", "no consent"),
        ("no consent", "no consent"),
        ("no address", "no address"),
        ("voided", "void"),
        ("erased", "no consent"),
    ],
)
def test_nothing_is_sent_without_consent_nor_for_voided_stories(db, event, setup, outcome):
    someone = customer(
        db, event, email=None if setup == "no address" else "x@example.org",
        consent=setup != "no consent",
    )  # fmt: skip
    badge = None if setup == "no badge" else someone["badge"]
    story = owed(db, event, badge=badge, contact="typed@example.org" if badge is None else None)
    if setup == "voided":
        voids.void(db, event["id"], "conversations", story["id"], "Ann", "a test")
    if setup == "erased":
        erasure.erase_attendee(db, event["id"], someone["badge"], "Ann")
    assert heard.enqueue(db, SENDER) == 0
    assert sent(db) == []
    assert outcomes(db) == [("acknowledgement", outcome)]


def test_rehearsal_and_node_rows_are_never_queued_and_held_ones_wait(db, event):
    someone = customer(db, event)
    owed(db, event, badge=someone["badge"], rehearsal=True)
    with dbm.write(db):
        db.execute("INSERT INTO settings (key, value) VALUES ('node', '1')")
    owed(db, event, badge=someone["badge"])
    assert outcomes(db) == []
    with dbm.write(db):
        db.execute("DELETE FROM settings WHERE key = 'node'")
    held = owed(db, event, badge=someone["badge"])
    with dbm.write(db):
        db.execute(
            "UPDATE conversations SET held_from = '203.0.113.7' WHERE uuid = ?", [held["id"]]
        )
    assert heard.enqueue(db, SENDER) == 0
    assert outcomes(db) == [("acknowledgement", None)]  # waits for the network to be trusted
    with dbm.write(db):
        db.execute("UPDATE conversations SET held_from = NULL WHERE uuid = ?", [held["id"]])
    assert heard.enqueue(db, SENDER) == 1


def test_held_stories_waiting_never_hold_back_the_others(db, event, monkeypatch):
    monkeypatch.setattr(heard, "BATCH", 2)
    someone = customer(db, event)
    for _ in range(3):
        held = owed(db, event, badge=someone["badge"])
        with dbm.write(db):
            db.execute(
                "UPDATE conversations SET held_from = '203.0.113.7' WHERE uuid = ?", [held["id"]]
            )
    owed(db, event, badge=someone["badge"])
    assert heard.enqueue(db, SENDER) == 1


def test_without_smtp_nothing_is_written_and_the_queue_waits(db, event):
    someone = customer(db, event)
    owed(db, event, badge=someone["badge"])
    off = heard.Sender(heard.Settings(webhook_url="https://hooks.example.org"), "k", "https://x")
    assert heard.enqueue(db, off) == 0
    assert outcomes(db) == [("acknowledgement", None)] and sent(db) == []


def test_a_follow_up_gained_later_is_acknowledged_once(db, event):
    someone = customer(db, event)
    story = owed(db, event, badge=someone["badge"], follow_up=False)
    assert outcomes(db) == []
    with dbm.write(db):
        db.execute("UPDATE conversations SET follow_up = 1, status = 'open' WHERE uuid = ?",
                   [story["id"]])  # fmt: skip
        db.execute("UPDATE conversations SET follow_up = 0 WHERE uuid = ?", [story["id"]])
        db.execute("UPDATE conversations SET follow_up = 1 WHERE uuid = ?", [story["id"]])
    assert outcomes(db) == [("acknowledgement", None)]


def closed_note(db, event, language="de") -> tuple[dict, dict, str]:
    """A follow-up acknowledged, then done: its closing note's message and link."""
    speaks(db, "cork", language)
    someone = customer(db, event)
    story = owed(db, event, badge=someone["badge"], owner="Ann")
    heard.enqueue(db, SENDER)
    followups.set_status(db, event["id"], story["id"], "done", actor="Ann")
    assert heard.enqueue(db, SENDER) == 1
    note = dbm.one(db.execute("SELECT * FROM customer_messages WHERE kind = 'closed'"))
    assert note is not None
    link = re.search(r"https://\S+", note["body"])
    assert link is not None
    return story, note, link[0]


def test_a_closing_note_links_to_a_page_that_reopens_the_follow_up(db, event):
    story, note, link = closed_note(db, event)
    assert note["subject"] == f"Abgeschlossen: {story['reference']}"
    assert link.startswith("https://tracker.example.org/heard/") and link.endswith("?lang=de")
    token = link.split("/heard/")[1].split("?")[0]
    assert heard.message_id("test-secret", token) == note["id"]
    with pytest.raises(heard.UnknownMessage):
        heard.message_id("another-key", token)
    said = heard.not_resolved(db, note["id"], "Die Preisliste fehlt immer noch")
    assert said["status"] == "open" and said["not_resolved_at"]
    again = heard.not_resolved(db, note["id"], "noch einmal")
    assert again["not_resolved_at"] == said["not_resolved_at"]
    history = followups.history(db, event["id"], story["id"])
    assert [(e["actor"], e["kind"], e["text"]) for e in history[-2:]] == [
        (
            "customer",
            "note",
            "The customer says it is not resolved: Die Preisliste fehlt immer noch",
        ),
        ("customer", "status", "open"),
    ]
    (row,) = audit.entries(db, event["id"], action="follow_up.not_resolved")
    assert row["actor"] == "customer" and row["subject"] == story["reference"]
    # Done again: a new closing note, its own link.
    followups.set_status(db, event["id"], story["id"], "done", actor="Ann")
    assert heard.enqueue(db, SENDER) == 1
    assert [k for k, _ in outcomes(db)] == ["acknowledgement", "closed", "closed"]


def test_the_customers_page_speaks_their_language_and_reopens_once(app, client, db, event):
    story, note, link = closed_note(db, event)
    path = link.removeprefix("https://tracker.example.org")
    page = client.get(path)
    assert page.status_code == 200
    assert '<html lang="de"' in page.text and "Es ist nicht gelöst" in page.text
    assert story["reference"] in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    answer = client.post(
        path.split("?")[0], data={"csrf_token": token[1], "answer": "Immer noch kaputt"}
    )
    assert answer.status_code == 200 and "wieder geöffnet" in answer.text
    stored = dbm.one(db.execute("SELECT status FROM conversations WHERE uuid = ?", [story["id"]]))
    assert stored == {"status": "open"}
    assert client.get("/heard/not-a-token?lang=de").status_code == 404
    forged = heard.token("someone-else", note["id"])
    assert client.get(f"/heard/{forged}").status_code == 404
    assert client.post(path.split("?")[0], data={}).status_code == 400  # no CSRF token


def test_an_attendee_who_asks_for_a_follow_up_at_their_own_address_has_consented(
    app, client, db, event
):
    booth = event["stations"]["booth"]
    assert client.post("/api/checkins", json={"station": booth["code"]}).status_code == 201
    told = {"station": booth["code"], "story": "Das Angebot fehlt", "follow_up": True}
    r = client.post(
        "/api/conversations",
        json={**told, "id": str(uuid.uuid4()), "contact": "mich@example.org"},
        headers={"Accept-Language": "de"},
    )
    assert r.status_code == 201, r.text
    client.post(  # a phone number: nowhere to write, and no details kept with consent
        "/api/conversations",
        json={**told, "id": str(uuid.uuid4()), "contact": "+49 30 1234567"},
    )
    assert heard.enqueue(db, SENDER) == 1
    (mail,) = sent(db)
    assert (mail["recipient"], mail["subject"][:21]) == (
        "mich@example.org",
        "Wir haben Sie gehört ",
    )
    assert outcomes(db) == [("acknowledgement", "sent"), ("acknowledgement", "no consent")]


def test_an_attendees_own_story_is_acknowledged_in_their_phones_language(app, client, db, event):
    booth = event["stations"]["booth"]
    r = client.post("/api/checkins", json={"station": booth["code"]})
    assert r.status_code == 201
    (attendee_id,) = db.execute("SELECT id FROM attendees").fetchone()
    profile.save(db, attendee_id, profile.ProfileIn(email="hanako@example.org", consent=True))
    r = client.post(
        "/api/conversations",
        json={"id": str(uuid.uuid4()), "station": booth["code"], "story": "料金がわかりにくい",
              "follow_up": True},
        headers={"Accept-Language": "ja-JP,ja;q=0.9,en;q=0.5"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert heard.enqueue(db, SENDER) == 1
    (mail,) = sent(db)
    assert mail["recipient"] == "hanako@example.org"
    assert mail["subject"].startswith("ご意見を承りました")


def test_every_message_is_in_the_export_and_erasure_erases_its_address(admin, db, event):
    someone = customer(db, event)
    owed(db, event, badge=someone["badge"])
    heard.enqueue(db, SENDER)
    export = admin.get("/admin/customer-messages.csv")
    (row,) = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert (row["kind"], row["recipient"], row["language"]) == (
        "acknowledgement",
        "kunde@example.org",
        "en",
    )
    assert "1 acknowledgement" in admin.get("/admin/actions").text
    assert "/admin/customer-messages.csv" in admin.get("/admin/data").text
    erasure.erase_attendee(db, event["id"], someone["badge"], "Ann")
    (message,) = dbm.rows(db.execute("SELECT recipient, notification_id FROM customer_messages"))
    assert message == {"recipient": "(erased)", "notification_id": None}
    assert sent(db) == []  # never sent now, and not "given up" either (the status page stays green)


def test_erasure_keeps_a_sent_messages_row_without_its_address(db, event):
    someone = customer(db, event)
    owed(db, event, badge=someone["badge"])
    heard.enqueue(db, SENDER)
    with dbm.write(db):
        db.execute("UPDATE notifications SET sent_at = '2026-10-07T10:00:05.000Z'")
    erasure.erase_attendee(db, event["id"], someone["badge"], "Ann")
    (mail,) = sent(db)
    assert mail["recipient"] == "" and mail["sent_at"] is not None
    (message,) = dbm.rows(db.execute("SELECT recipient, notification_id FROM customer_messages"))
    assert message == {"recipient": "(erased)", "notification_id": mail["id"]}


def test_the_alerts_command_writes_customers_messages_too(app, db, event):
    someone = customer(db, event)
    owed(db, event, badge=someone["badge"])
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=1, ALERT_RETRY_SECONDS=60)
    result = app.test_cli_runner().invoke(args=["alerts", "send"])
    assert result.exit_code == 0, result.output
    assert outcomes(db) == [("acknowledgement", "sent")]


def test_on_a_node_the_outbox_writes_to_no_customer(db, event):
    pull.set_node_mode(db, True)
    with dbm.write(db):
        db.execute("INSERT INTO settings (key, value) VALUES ('node', '1')")
    someone = customer(db, event)
    owed(db, event, badge=someone["badge"])
    assert heard.enqueue(db, SENDER) == 0 and outcomes(db) == []


@pytest.mark.live
def test_an_acknowledgement_reaches_a_real_smtp_server_in_german_within_a_minute(
    db_path,
    db,
    event,
    smtp,  # noqa: F811 (the fixture imported above)
):
    speaks(db, "cork", "de")
    booth = event["stations"]["booth"]
    server = LiveServer(
        db_path,
        env={
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp.port),
            "SMTP_STARTTLS": "0",
            "SMTP_FROM": "tracker@example.org",
            "ALERT_POLL_SECONDS": "0.5",
            "RATELIMIT_ENABLED": "0",
        },
    ).start()
    try:
        phone = phone_session()
        r = phone.post(f"{server.url}/api/checkins", json={"station": booth["code"]}, timeout=10)
        assert r.status_code == 201, r.text
        (attendee_id,) = db.execute("SELECT id FROM attendees").fetchone()
        profile.save(db, attendee_id, profile.ProfileIn(email="kunde@example.org", consent=True))
        r = phone.post(
            f"{server.url}/api/conversations",
            json={"id": str(uuid.uuid4()), "station": booth["code"], "follow_up": True,
                  "story": "Die Rechnung ist falsch, bitte melden Sie sich"},
            headers={"Accept-Language": "de-DE,de;q=0.9"},
            timeout=10,
        )  # fmt: skip
        assert r.status_code == 201, r.text
        wait_until(
            lambda: [m for m in smtp.messages if "kunde@example.org" in m.rcpt_tos],
            60,
            "the acknowledgement at the SMTP server, within a minute",
        )
    finally:
        server.stop(kill=True)
    (envelope,) = [m for m in smtp.messages if "kunde@example.org" in m.rcpt_tos]
    mail = message_from_bytes(envelope.content, policy=policy.default)
    reference = r.json()["reference"]
    assert mail["Subject"] == f"Wir haben Sie gehört ({reference})"
    body = mail.get_content()
    assert "unser Team kümmert sich darum" in body and f"Ihre Referenz: {reference}" in body


def test_a_follow_up_a_node_forwards_is_acknowledged_when_it_reaches_central(db, event):
    token = attendees.new_token()
    with dbm.write(db):
        db.execute(
            "INSERT INTO attendees (event_id, token, badge, email, consent, created_at)"
            " VALUES (?, ?, ?, 'node.customer@example.org', 1, ?)",
            [event["id"], token, attendees.badge_for(token), HAPPENED],
        )
    _, secret = enrol.add(db, event, "cork")
    node = enrol.authenticate(db, secret)
    record = {
        "kind": "conversation",
        "uuid": str(uuid.uuid4()),
        "station_id": event["stations"]["booth"]["id"],
        "source": "staff",
        "staff_name": "Sam",
        "story": "Bitte rufen Sie mich wegen der Rechnung an",
        "follow_up": 1,
        "status": "open",
        "captured_at": HAPPENED,
        "received_at": HAPPENED,
        "attendee": {"token": token, "badge": attendees.badge_for(token), "created_at": HAPPENED},
    }
    assert central.apply_records(db, node, [record])["applied"] == 1
    assert central.apply_records(db, node, [record])["applied"] == 1  # again: nothing new
    assert heard.enqueue(db, SENDER) == 1
    (mail,) = sent(db)
    assert mail["recipient"] == "node.customer@example.org"
