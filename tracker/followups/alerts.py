"""Alerts: "acknowledge at once". A conversation that becomes a detractor's (score 0-6) or gains
a follow-up is announced by e-mail and/or a Slack-compatible webhook within a minute, from an
outbox that retries; a follow-up given to an owner who is an e-mail address tells that owner.

Nobody tells this module about a conversation: triggers (schema 9) queue a row in `alert_queue`
in the write's own transaction, on the transition itself, once per conversation and kind, however
the conversation got there (logged so, corrected, synced late, forwarded by a node). A background
task in the server process turns the queued rows whose conversation still qualifies into one
row per channel in `notifications`, every ALERT_POLL_SECONDS; then it sends the rows that are
due, outside any transaction and never inside a request: each attempt is claimed first (so two
server processes on one file never send one row twice), and a failure waits ALERT_RETRY_SECONDS,
doubling up to an hour, until ALERT_MAX_ATTEMPTS have failed; then it is given up and shown on
the follow-ups page with its last error. With neither SMTP_HOST nor ALERT_WEBHOOK_URL set,
nothing is sent and the task never starts.

Counted, not voided, not held, not rehearsal: a detractor alert is for a score that counts in
the NPS (an attendee's repeated story, an employee's story, `flask simulate`'s traffic never
alert); a follow-up alerts unless voided, held or rehearsal. A held story alerts once trusted.
"""

from __future__ import annotations

import json
import logging
import smtplib
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from sqlite_utils import Database

from ..people.profile import is_email
from ..security import tls_context
from ..store import db as dbm
from ..store import logs
from ..store import settings as stored
from ..store.db import Row
from ..stories.text import reference

log = logging.getLogger(__name__)
EXTENSION = "tracker_notify"
WATERMARK = "alerts_watermark"
DETRACTOR_MAX = 6
BATCH = 500  # conversations looked at in one transaction
SEND_BATCH = 20  # notifications claimed at once
LEASE_SECONDS = 120  # a claimed attempt that never finished (the process died) is retried then
BACKOFF_MAX_SECONDS = 3600
TIMEOUT_SECONDS = 10  # of one SMTP conversation or webhook POST
STORY_CHARS = 500  # of the story quoted in an alert


@dataclass(frozen=True)
class Settings:
    """Where alerts go and how they retry (the SMTP_* and ALERT_* settings, README)."""

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "tracker@localhost"
    smtp_starttls: bool = True
    emails: tuple[str, ...] = ()
    webhook_url: str | None = None
    max_attempts: int = 8
    retry_seconds: float = 30.0
    poll_seconds: float = 5.0
    public_url: str = ""
    per_source_minute: int = 3

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        return cls(
            smtp_host=config.get("SMTP_HOST") or None,
            smtp_port=int(config.get("SMTP_PORT") or 587),
            smtp_user=config.get("SMTP_USER") or None,
            smtp_password=config.get("SMTP_PASSWORD") or None,
            smtp_from=config.get("SMTP_FROM") or "tracker@localhost",
            smtp_starttls=bool(config.get("SMTP_STARTTLS", True)),
            emails=tuple(config.get("ALERT_EMAILS") or ()),
            webhook_url=config.get("ALERT_WEBHOOK_URL") or None,
            max_attempts=max(1, int(config.get("ALERT_MAX_ATTEMPTS") or 8)),
            retry_seconds=float(config.get("ALERT_RETRY_SECONDS") or 30),
            poll_seconds=float(config.get("ALERT_POLL_SECONDS") or 5),
            public_url=str(config.get("PUBLIC_URL") or "").rstrip("/"),
            per_source_minute=max(1, int(config.get("ALERTS_PER_SOURCE_MINUTE") or 3)),
        )

    @property
    def email_on(self) -> bool:
        return self.smtp_host is not None

    @property
    def configured(self) -> bool:
        """Whether any channel is set; without one nothing is queued or sent."""
        return self.email_on or self.webhook_url is not None


def watermark(db: Database) -> int | None:
    """Set (1) once alerts have been set up and a first pass has run, else None."""
    value = stored.get(db, WATERMARK)
    return None if value is None else int(value)


def _set_watermark(db: Database, value: int) -> None:
    stored.put(db, WATERMARK, value)


def _message(row: Row, settings: Settings) -> tuple[str, str]:
    """(subject, body) of the alert for one conversation."""
    ref = reference(row["id"])
    where = " · ".join(str(p) for p in (row["location_name"], row["station_name"]) if p)
    detractor = _is_detractor(row)
    what = f"Detractor ({row['nps']}/10)" if detractor else "Follow-up owed"
    if detractor and row["follow_up"]:
        what += ", follow-up owed"
    subject = " ".join(f"{what} at {where}: {ref}".split())  # no line breaks in a header
    story = str(row["story"] or "").strip()
    if len(story) > STORY_CHARS:
        story = story[: STORY_CHARS - 1] + "…"
    lines = [f"{what} at {where} ({row['event_name']}), {ref}."]
    if story:
        lines += ["", f"“{story}”", ""]
    if row["staff_name"]:
        lines.append(f"Logged by: {row['staff_name']}")
    if row["follow_up"]:
        lines.append(f"Contact: {row['contact'] or row['attendee_email'] or 'none given'}")
        lines.append(f"Owner: {row['owner'] or 'nobody yet'}")
    if settings.public_url:
        lines.append(f"Open it: {settings.public_url}/admin/follow-ups?status=all&q={ref}")
    return subject, "\n".join(lines)


def _is_detractor(row: Row) -> bool:
    return (
        row["nps"] is not None
        and row["nps"] <= DETRACTOR_MAX
        and bool(row["counted"])
        and row["voided_at"] is None
    )


class Digests:
    """Attendee-triggered alerts (an attendee's own story: anyone with a phone can make one)
    are limited per address and per attendee: ALERTS_PER_SOURCE_MINUTE each a minute go out
    one by one; past that, what is left waits and leaves as one digest a minute per source.
    Staff-logged conversations are never limited. Kept per process, like the rate limits."""

    WINDOW = 60.0

    def __init__(self) -> None:
        self.sent: dict[str, list[float]] = {}  # source -> times of single alerts this window
        self.digest_at: dict[str, float] = {}  # source -> when its last digest left
        self.waiting: dict[str, list[Row]] = {}  # source -> rows for its next digest

    def admit(self, sources: list[str], moment: float, limit: int) -> str | None:
        """None if a single alert may go now (and count it), else the source it waits under."""
        for source in sources:
            recent = [t for t in self.sent.get(source, []) if moment - t < self.WINDOW]
            self.sent[source] = recent
            if len(recent) >= limit:
                return source
        for source in sources:
            self.sent[source].append(moment)
        return None

    def due(self, moment: float) -> list[tuple[str, list[Row]]]:
        """The digests that may leave now (a minute after the source's last one), taken out."""
        ready = [
            source
            for source, rows in self.waiting.items()
            if rows and moment - self.digest_at.get(source, -self.WINDOW) >= self.WINDOW
        ]
        out = []
        for source in ready:
            out.append((source, self.waiting.pop(source)))
            self.digest_at[source] = moment
        return out


def _sources(row: Row) -> list[str]:
    """What an attendee-triggered alert is limited by: its attendee and their address."""
    if row["source"] != "attendee":
        return []
    found = [f"attendee {row['attendee_badge'] or row['attendee_id']}"]
    if row["attendee_ip"]:
        found.append(f"address {row['attendee_ip']}")
    return found


def _queue(db: Database, settings: Settings, subject: str, body: str, owner: str, now: str) -> int:
    """One notification per configured channel; how many."""
    recipients: list[str] = []
    if settings.email_on:
        recipients = [owner] if is_email(owner) else list(settings.emails)
    channels = [("email", ", ".join(recipients))] if recipients else []
    if settings.webhook_url:
        channels.append(("webhook", "webhook"))
    for channel, recipient in channels:
        db.execute(
            "INSERT INTO notifications (channel, recipient, subject, body, created_at,"
            " next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)",
            [channel, recipient, subject, body, now, now],
        )
    return len(channels)


def queue_notification(
    db: Database, settings: Settings, subject: str, body: str, now: str | None = None
) -> int:
    """Queue one alert of tracker's own (the status page's alarms) on every channel set, to
    ALERT_EMAILS; how many notifications. Sent by the same tasks, with the same retries."""
    if not settings.configured:
        return 0
    return _queue(db, settings, subject, body, "", now or dbm.utcnow())


def _digest(source: str, rows: list[Row], settings: Settings) -> tuple[str, str]:
    """(subject, body) of one digest: the references of the alerts that waited."""
    refs = [reference(r["id"]) for r in rows]
    subject = f"{len(rows)} more alerts from one {source.split()[0]} in the last minute"
    lines = [
        f"{len(rows)} detractors or follow-ups came from {source} within a minute; they are"
        " summed up here rather than sent one by one.",
        "",
        ", ".join(refs),
    ]
    if settings.public_url:
        lines += ["", f"Open the queue: {settings.public_url}/admin/follow-ups?status=all"]
    return subject, "\n".join(lines)


def enqueue_new(
    db: Database, settings: Settings, now: str | None = None, digests: Digests | None = None
) -> int:
    """Turn the alert queue (rows the triggers of schema 9 wrote in each write's transaction)
    into notifications, in one transaction; how many notifications were queued.

    A row is sent once its conversation qualifies (counted, not voided, held or rehearsal; a
    detractor's score 0-6, a follow-up still flagged); until then it waits. A detractor's and a
    follow-up's rows of one conversation leave as one alert. The first pass with a channel set
    marks what was queued before as handled (no alerts for what happened before alerts were
    set up). With `digests` (the server's), attendee-triggered alerts past their budget wait for
    a digest (Digests). Nothing at all when no channel is configured."""
    if not settings.configured:
        return 0
    now = now or dbm.utcnow()
    moment = dbm.parse_iso(now).timestamp()
    queued = 0
    with dbm.write(db):
        if watermark(db) is None:  # alerts just set up: what was queued before is history
            db.execute("UPDATE alert_queue SET handled_at = ? WHERE handled_at IS NULL", [now])
            _set_watermark(db, 1)
            return 0
        pending = dbm.rows(
            db.execute(
                "SELECT q.id AS queue_id, q.kind, q.recipient, c.id, c.nps, c.counted,"
                " c.voided_at, c.rehearsal, c.follow_up, c.contact, c.owner, c.story,"
                " c.staff_name, c.source, c.attendee_id, s.name AS station_name,"
                " l.name AS location_name, e.name AS event_name, a.email AS attendee_email,"
                " a.badge AS attendee_badge, a.created_ip AS attendee_ip"
                " FROM alert_queue q INDEXED BY alert_queue_pending"
                " JOIN conversations c ON c.id = q.conversation_id"
                " LEFT JOIN stations s ON s.id = c.station_id"
                " LEFT JOIN locations l ON l.id = coalesce(s.location_id, c.location_id)"
                " LEFT JOIN events e ON e.id = l.event_id"
                " LEFT JOIN attendees a ON a.id = c.attendee_id"
                " WHERE q.handled_at IS NULL AND c.voided_at IS NULL AND c.held_from IS NULL"
                " AND c.rehearsal = 0"
                " AND (q.kind != 'detractor' OR (c.nps <= :detractor AND c.counted = 1))"
                " AND (q.kind = 'detractor' OR c.follow_up = 1)"
                f" ORDER BY q.id LIMIT {BATCH}",
                {"detractor": DETRACTOR_MAX},
            )
        )
        seen: set[int] = set()
        for row in pending:
            db.execute("UPDATE alert_queue SET handled_at = ? WHERE id = ?", [now, row["queue_id"]])
            if row["kind"] == "assigned":
                queued += _assigned(db, settings, row, now)
                continue
            if row["id"] in seen:  # the same conversation's other kind: one alert for both
                continue
            seen.add(row["id"])
            if digests is not None:
                waits = digests.admit(_sources(row), moment, settings.per_source_minute)
                if waits is not None:
                    digests.waiting.setdefault(waits, []).append(row)
                    continue
            subject, body = _message(row, settings)
            queued += _queue(db, settings, subject, body, str(row["owner"] or "").strip(), now)
        for source, waited in digests.due(moment) if digests is not None else []:
            subject, body = _digest(source, waited, settings)
            queued += _queue(db, settings, subject, body, "", now)
    return queued


def _assigned(db: Database, settings: Settings, row: Row, now: str) -> int:
    """An owner who is an e-mail address is told the follow-up is theirs (e-mail only)."""
    owner = str(row["recipient"] or "")
    if not (settings.email_on and is_email(owner)):
        return 0
    subject, body = _message(row, settings)
    ref = reference(row["id"])
    subject = f"{ref} is yours: {subject}"
    body = f"You were given the follow-up {ref}.\n\n{body}"
    db.execute(
        "INSERT INTO notifications (channel, recipient, subject, body, created_at,"
        " next_attempt_at) VALUES ('email', ?, ?, ?, ?, ?)",
        [owner, subject, body, now, now],
    )
    return 1


def _later(now: str, seconds: float) -> str:
    return dbm.iso(dbm.parse_iso(now) + timedelta(seconds=seconds))


def backoff_seconds(settings: Settings, attempts: int) -> float:
    """The wait after the `attempts`-th failure: ALERT_RETRY_SECONDS, doubling, at most an hour."""
    return float(min(settings.retry_seconds * 2 ** max(0, attempts - 1), BACKOFF_MAX_SECONDS))


def _claim(db: Database, settings: Settings, now: str, channel: str | None) -> list[Row]:
    """Take the due notifications (of `channel`, or all) for one attempt each (attempts + 1,
    leased for a while)."""
    with dbm.write(db):
        rows = dbm.rows(
            db.execute(
                "SELECT * FROM notifications WHERE sent_at IS NULL AND attempts < ?"
                " AND next_attempt_at <= ? AND (? IS NULL OR channel = ?)"
                f" ORDER BY next_attempt_at, id LIMIT {SEND_BATCH}",
                [settings.max_attempts, now, channel, channel],
            )
        )
        for row in rows:
            db.execute(
                "UPDATE notifications SET attempts = attempts + 1, next_attempt_at = ?"
                " WHERE id = ?",
                [_later(now, LEASE_SECONDS), row["id"]],
            )
            row["attempts"] += 1
    return rows


def send_email(settings: Settings, row: Row) -> None:
    """One alert by SMTP (STARTTLS and a login when set); raises what smtplib raises."""
    if not settings.smtp_host:
        raise RuntimeError("SMTP_HOST is not set")
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = row["recipient"]
    message["Subject"] = row["subject"]
    message.set_content(row["body"])
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_SECONDS) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=tls_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(message)


def slack_text(text: str) -> str:
    """Text as Slack's (and Teams' Slack-compatible) incoming webhooks read it literally: &, <
    and > escaped as their documentation asks, so an attendee's `<!channel>` or
    `<https://evil.example|a link>` is shown, never acted on."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def post_webhook(settings: Settings, row: Row) -> None:
    """One alert as a Slack-compatible JSON POST {"text": ...}; raises for any answer but 2xx."""
    if not settings.webhook_url:
        raise RuntimeError("ALERT_WEBHOOK_URL is not set")
    data = json.dumps({"text": slack_text(f"{row['subject']}\n{row['body']}")}).encode()
    request = urllib.request.Request(settings.webhook_url, data=data, method="POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS, context=tls_context()) as answer:
        answer.read()


def send_due(
    db: Database, settings: Settings, now: str | None = None, channel: str | None = None
) -> dict[str, int]:
    """Send every notification that is due (of `channel`, or all); {"sent": n, "failed": n}.
    A failure is tried again after the backoff, until ALERT_MAX_ATTEMPTS; its last error is
    kept either way."""
    now = now or dbm.utcnow()
    done = {"sent": 0, "failed": 0}
    for row in _claim(db, settings, now, channel):
        try:
            if row["channel"] == "email":
                send_email(settings, row)
            else:
                post_webhook(settings, row)
        except Exception as exc:  # any refusal or network trouble: retry later
            error = f"{type(exc).__name__}: {exc}"[:500]
            if settings.smtp_password:
                error = error.replace(settings.smtp_password, "***")
            given_up = row["attempts"] >= settings.max_attempts
            logs.event(log, "alert.given_up" if given_up else "alert.failed", logging.WARNING,
                       alert=row["id"], channel=row["channel"], attempts=row["attempts"],
                       error=error)  # fmt: skip
            at = dbm.utcnow()
            with dbm.write(db):
                db.execute(
                    "UPDATE notifications SET next_attempt_at = ?, last_error = ? WHERE id = ?",
                    [_later(at, backoff_seconds(settings, row["attempts"])), error, row["id"]],
                )
            done["failed"] += 1
        else:
            with dbm.write(db):
                db.execute(
                    "UPDATE notifications SET sent_at = ?, last_error = NULL WHERE id = ?",
                    [dbm.utcnow(), row["id"]],
                )
            logs.event(log, "alert.sent", alert=row["id"], channel=row["channel"])
            done["sent"] += 1
    return done


def one_pass(db: Database, settings: Settings, now: str | None = None) -> dict[str, int]:
    """Queue what is new, then send what is due: {"queued", "sent", "failed"}."""
    if not settings.configured:
        return {"queued": 0, "sent": 0, "failed": 0}
    queued = enqueue_new(db, settings, now)
    return {"queued": queued, **send_due(db, settings, now)}


def pending(db: Database, max_attempts: int) -> tuple[int, int]:
    """(waiting, given up): the notifications not sent, still to try and given up; the one count
    the follow-ups page, the status page and /metrics show."""
    waiting, given_up = db.execute(
        "SELECT count(*) FILTER (WHERE attempts < :max), count(*) FILTER (WHERE attempts >= :max)"
        " FROM notifications WHERE sent_at IS NULL",
        {"max": max_attempts},
    ).fetchone()
    return int(waiting), int(given_up)


def outbox(db: Database, settings: Settings, limit: int = 10) -> Row:
    """What the follow-ups page shows of the outbox: {"waiting", "sent", "given_up": counts,
    "problems": the latest notifications not sent that have an error (`given_up` marked)}."""
    counts = db.execute(
        "SELECT count(*) FILTER (WHERE sent_at IS NULL AND attempts < :max),"
        " count(*) FILTER (WHERE sent_at IS NOT NULL),"
        " count(*) FILTER (WHERE sent_at IS NULL AND attempts >= :max) FROM notifications",
        {"max": settings.max_attempts},
    ).fetchone()
    problems = dbm.rows(
        db.execute(
            "SELECT id, channel, recipient, subject, created_at, attempts, next_attempt_at,"
            " last_error, attempts >= :max AS given_up FROM notifications"
            " WHERE sent_at IS NULL AND last_error IS NOT NULL ORDER BY id DESC LIMIT :limit",
            {"max": settings.max_attempts, "limit": limit},
        )
    )
    return {"waiting": counts[0], "sent": counts[1], "given_up": counts[2], "problems": problems}


class Outbox:
    """The background task of one server process (started once, like the node link)."""

    def __init__(self, config: Mapping[str, Any]):
        self.config = config
        self.settings = Settings.from_config(config)
        self.digests = Digests()
        self.started = False
        # Passes of the floors above that queue into the same outbox (the customers' messages,
        # actions/heard.py), each run every poll on a task of its own.
        self.passes: list[Any] = []

    def db(self) -> Database:
        return dbm.thread_db(self.config["DATABASE"], self.config["SYNCHRONOUS"])

    def run(self, work: Any) -> None:
        while True:
            try:
                work(self.db())
            except Exception:  # a locked database, a bad row: the next poll tries again
                log.exception("alerts: a pass failed")
            time.sleep(self.settings.poll_seconds)

    def start(self) -> None:
        """Three tasks: one queues alerts, one sends e-mail, one posts to the webhook, so a
        hanging mail relay never holds the webhook back (nor the other way round). In the
        serving process (gevent, monkey-patched) these threads are greenlets."""
        if self.started or not self.settings.configured:
            return
        self.started = True
        settings = self.settings
        tasks: list[Any] = [lambda db: enqueue_new(db, settings, digests=self.digests)]
        if settings.email_on:
            tasks.append(lambda db: send_due(db, settings, channel="email"))
        if settings.webhook_url:
            tasks.append(lambda db: send_due(db, settings, channel="webhook"))
        tasks += self.passes
        for work in tasks:
            threading.Thread(target=self.run, args=(work,), daemon=True).start()
