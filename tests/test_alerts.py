"""Alerts ("acknowledge at once"): the outbox's rules, and a real server process announcing a
detractor's story to a real local SMTP server (aiosmtpd) and a real HTTP receiver within a
minute, retrying a failing receiver without making any request wait for it."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from aiosmtpd.controller import Controller

from tracker.contract.requests import ConversationIn
from tracker.corrections import voids
from tracker.event import lookups as events
from tracker.followups import alerts as notify
from tracker.ops.serve import free_port
from tracker.store import db as dbm
from tracker.stories import record as conversations

from .conftest import LiveServer
from .helpers import phone_session, wait_until

# ---------------------------------------------------------------- real receivers


class Inbox:
    """aiosmtpd's handler: keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


class Receiver:
    """A real HTTP server on 127.0.0.1: `answers` says what each POST gets, in turn (a status,
    or ("hang", status): no answer until `release` is set, then that status); the last one is
    repeated. `bodies` are the JSON it took."""

    def __init__(self, answers: list) -> None:
        self.answers = answers
        self.bodies: list[dict] = []
        self.calls = 0
        self.hanging = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                answer = receiver.answers[min(receiver.calls, len(receiver.answers) - 1)]
                receiver.calls += 1
                if isinstance(answer, tuple):
                    receiver.hanging.set()
                    receiver.release.wait(60)  # the test lets go (or the test is long over)
                    answer = answer[1]
                if answer == 200:
                    receiver.bodies.append(json.loads(body))
                self.send_response(answer)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(answers: list) -> Receiver:
        made.append(Receiver(answers))
        return made[-1]

    yield make
    for r in made:
        r.close()


# ---------------------------------------------------------------- the outbox's rules


def settings(**changes) -> notify.Settings:
    base = {"webhook_url": "http://127.0.0.1:9/hook", "retry_seconds": 0.0, "max_attempts": 3}
    return notify.Settings(**{**base, **changes})


def story(db, event, station="booth", rehearsal=False, **fields) -> dict:
    st = event["stations"][station]
    data = ConversationIn(id=uuid.uuid4(), story=fields.pop("story", "It broke"), **fields)
    author = conversations.Author("staff", st["id"], staff_name="Sam")
    record, _ = conversations.record(db, events.get_event(db), data, author)
    if rehearsal:
        with dbm.write(db):
            db.execute("UPDATE conversations SET rehearsal = 1 WHERE uuid = ?", [record["id"]])
    return record


def watermark(db_path) -> int | None:
    db = dbm.connect(db_path)
    try:
        return notify.watermark(db)
    finally:
        db.close()


def queued(db) -> list[dict]:
    return dbm.rows(db.execute("SELECT * FROM notifications ORDER BY id"))


def test_nothing_configured_queues_nothing_and_sets_no_watermark(db, event):
    story(db, event, nps=2)
    assert notify.one_pass(db, notify.Settings()) == {"queued": 0, "sent": 0, "failed": 0}
    assert notify.watermark(db) is None and queued(db) == []


def test_the_first_pass_starts_after_what_was_there(db, event):
    story(db, event, nps=2)
    assert notify.enqueue_new(db, settings()) == 0
    assert notify.watermark(db) == 1 and queued(db) == []


def test_detractors_and_follow_ups_are_queued_once_per_channel(db, event):
    s = settings(smtp_host="127.0.0.1", emails=("cx@example.com", "lead@example.com"))
    notify.enqueue_new(db, s)
    detractor = story(db, event, nps=6, story="Too slow")
    story(db, event, nps=7)  # passive, no follow-up: nothing
    owed = story(db, event, nps=10, follow_up=True, owner="kim@example.com", contact="+1 555")
    story(db, event, nps=0, rehearsal=True)  # rehearsal: never
    voided = story(db, event, nps=1)
    voids.void(db, events.get_event(db)["id"], "conversations", voided["id"], "Ann", "test")
    assert notify.enqueue_new(db, s) == 4
    assert notify.enqueue_new(db, s) == 0  # each queued alert is handled once: nothing twice
    rows = queued(db)
    assert [(r["channel"], r["recipient"]) for r in rows] == [
        ("email", "cx@example.com, lead@example.com"),
        ("webhook", "webhook"),
        ("email", "kim@example.com"),  # the owner is an address
        ("webhook", "webhook"),
    ]
    assert rows[0]["subject"] == f"Detractor (6/10) at Cork · Main booth: {detractor['reference']}"
    assert "Too slow" in rows[0]["body"]
    assert rows[2]["subject"].startswith("Follow-up owed") and "Contact: +1 555" in rows[2]["body"]
    waiting = db.execute(
        "SELECT c.uuid FROM alert_queue q JOIN conversations c ON c.id = q.conversation_id"
        " WHERE q.handled_at IS NULL AND c.rehearsal = 0"
    ).fetchall()
    assert waiting == [(voided["id"],)]  # the voided detractor waits: it alerts only if restored
    assert owed["id"]


def test_an_uncounted_score_is_no_detractor_alert(db, event):
    s = settings()
    notify.enqueue_new(db, s)
    with dbm.write(db):  # an attendee's second story at a station: kept, not counted
        db.execute(
            "INSERT INTO conversations (uuid, station_id, source, story, nps, counted,"
            " captured_at, received_at) VALUES (?, ?, 'attendee', 'again', 2, 0, ?, ?)",
            [str(uuid.uuid4()), event["stations"]["booth"]["id"], dbm.utcnow(), dbm.utcnow()],
        )
    assert notify.enqueue_new(db, s) == 0 and queued(db) == []
    assert notify.watermark(db) == 1


def test_a_failing_channel_is_retried_with_backoff_then_given_up_and_shown(db, event):
    s = settings(max_attempts=2, retry_seconds=60)
    notify.enqueue_new(db, s)
    story(db, event, nps=1)
    first = notify.one_pass(db, s)
    assert first == {"queued": 1, "sent": 0, "failed": 1}
    row = queued(db)[0]
    assert row["attempts"] == 1 and row["sent_at"] is None and "refused" in row["last_error"]
    assert row["next_attempt_at"] > dbm.utcnow()  # waits ALERT_RETRY_SECONDS
    assert notify.send_due(db, s) == {"sent": 0, "failed": 0}  # not due yet
    later = dbm.iso(dbm.parse_iso(dbm.utcnow()) + timedelta(minutes=5))
    assert notify.send_due(db, s, now=later) == {"sent": 0, "failed": 1}
    assert notify.send_due(db, s, now="2999-01-01T00:00:00.000Z") == {"sent": 0, "failed": 0}
    state = notify.outbox(db, s)
    assert (state["waiting"], state["sent"], state["given_up"]) == (0, 0, 1)
    assert state["problems"][0]["given_up"] == 1


@pytest.mark.parametrize("attempts,wait", [(1, 30), (2, 60), (3, 120), (20, 3600)])
def test_backoff_doubles_up_to_an_hour(attempts, wait):
    assert notify.backoff_seconds(notify.Settings(), attempts) == wait


def test_email_reaches_a_real_smtp_server(db, event, smtp):
    s = settings(webhook_url=None, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_starttls=False)
    s = notify.Settings(**{**s.__dict__, "emails": ("cx@example.com",)})
    notify.enqueue_new(db, s)
    story(db, event, nps=4, story="Line one\nline two")
    assert notify.one_pass(db, s) == {"queued": 1, "sent": 1, "failed": 0}
    (message,) = smtp.messages
    assert message.rcpt_tos == ["cx@example.com"]
    text = message.content.decode()
    assert "Subject: Detractor (4/10) at Cork" in text and "line two" in text


def test_the_follow_ups_page_shows_alerts_given_up(app, client, db, event):
    app.config.update(
        ADMIN_PASSWORD="correct horse battery",
        WTF_CSRF_ENABLED=False,
        ALERT_WEBHOOK_URL="http://127.0.0.1:9/hook",
        ALERT_MAX_ATTEMPTS=1,
    )
    app.extensions[notify.EXTENSION] = notify.Outbox(app.config)
    s = app.extensions[notify.EXTENSION].settings
    notify.enqueue_new(db, s)
    story(db, event, nps=0)
    notify.one_pass(db, s)
    client.post("/admin/login", data={"name": "admin", "password": "correct horse battery"})
    page = client.get("/admin/follow-ups").get_data(as_text=True)
    assert "1 given up" in page and "refused" in page


def test_alerts_send_command(app, db, event):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["alerts", "send"])
    assert result.exit_code != 0 and "not configured" in result.output
    app.config["ALERT_WEBHOOK_URL"] = "http://127.0.0.1:9/hook"
    result = runner.invoke(args=["alerts", "send"])
    assert result.exit_code == 0 and "Queued 0" in result.output


# ---------------------------------------------------------------- a real server process


def tell_story(server_url: str, code: str, nps: int) -> None:
    """An attendee checks in and tells a story with a score, through the HTTP API."""
    phone = phone_session()
    r = phone.post(f"{server_url}/api/checkins", json={"station": code}, timeout=10)
    assert r.status_code == 201, r.text
    r = phone.post(
        f"{server_url}/api/conversations",
        json={"id": str(uuid.uuid4()), "station": code, "story": "Nobody helped me", "nps": nps},
        timeout=10,
    )
    assert r.status_code == 201, r.text


def webhook_row(db_path) -> dict:
    db = dbm.connect(db_path)
    try:
        return dbm.one(db.execute("SELECT * FROM notifications WHERE channel = 'webhook'"))
    finally:
        db.close()


def alerting_server(db_path, smtp, hook: Receiver, **env) -> LiveServer:
    return LiveServer(
        db_path,
        env={
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp.port),
            "SMTP_STARTTLS": "0",
            "SMTP_FROM": "tracker@example.org",
            "ALERT_EMAILS": "cx-team@example.org",
            "ALERT_WEBHOOK_URL": hook.url,
            "ALERT_POLL_SECONDS": "0.5",
            "ALERT_RETRY_SECONDS": "0.5",
            "RATELIMIT_ENABLED": "0",
            **env,
        },
    ).start()


@pytest.mark.live
def test_a_detractors_story_reaches_smtp_and_webhook_within_a_minute(
    db_path, event, smtp, receiver
):
    hook = receiver([200])
    server = alerting_server(db_path, smtp, hook)
    try:
        wait_until(lambda: watermark(db_path) is not None, 20, "the outbox's first pass")
        tell_story(server.url, event["stations"]["booth"]["code"], nps=3)
        wait_until(lambda: smtp.messages and hook.bodies, 60, "both alerts, within a minute")
    finally:
        server.stop(kill=True)
    (message,) = smtp.messages
    assert message.rcpt_tos == ["cx-team@example.org"]
    assert message.mail_from == "tracker@example.org"
    assert "Detractor (3/10) at Cork" in message.content.decode()
    (body,) = hook.bodies
    assert (
        body["text"].startswith("Detractor (3/10) at Cork") and "Nobody helped me" in body["text"]
    )


@pytest.mark.live
def test_a_failing_receiver_is_retried_and_no_request_waits_for_it(db_path, event, smtp, receiver):
    # The first POST hangs until the test lets go and then fails, the second fails, the third
    # is taken.
    hook = receiver([("hang", 500), 503, 200])
    server = alerting_server(db_path, smtp, hook)
    try:
        wait_until(lambda: watermark(db_path) is not None, 20, "the outbox's first pass")
        code = event["stations"]["booth"]["code"]
        tell_story(server.url, code, nps=2)
        wait_until(hook.hanging.is_set, 30, "the receiver to be called")
        # While the alert waits on the hanging receiver, requests are answered: both answers
        # arrive while its first call is still unanswered (no failure recorded, no second call).
        tell_story(server.url, code, nps=9)
        assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200
        assert hook.calls == 1 and webhook_row(db_path)["last_error"] is None
        hook.release.set()
        # Taken, and the outbox has recorded so (the receiver has the body before its answer).
        wait_until(lambda: webhook_row(db_path)["sent_at"], 60, "the webhook to take the alert")
    finally:
        hook.release.set()
        server.stop(kill=True)
    assert hook.calls == 3
    webhook = webhook_row(db_path)
    assert webhook["attempts"] == 3 and webhook["sent_at"] and webhook["last_error"] is None
    assert len(smtp.messages) == 1  # the e-mail went on its own, first time
