"""A customer who knows they were heard: the acknowledgement of a follow-up, the note that it was
closed, and the customer's answer "it is not resolved".

Nobody calls this when a follow-up is made or closed: triggers (schema 11) queue a row in
`customer_queue` in the write's own transaction, on central only and never for rehearsal rows
(a node's record queues when it reaches central). The alerts' outbox task (its poll, never a
request) turns each row into one e-mail in `notifications`, sent and retried by the alerts'
own senders, when, and only when:

- the conversation still owes a follow-up, is not voided (a held one waits until trusted);
- the customer consented: they gave their details with consent (`attendees.consent`,
  people/profile.py; the address is then the follow-up's contact when it is an e-mail address,
  else their own), or they asked for the follow-up on their own phone and typed the e-mail
  address it should go to (an attendee's own story, its contact); and they were not erased
  or voided. A contact typed by staff for someone who gave no consent is never written to.

Otherwise the row is closed with the reason (`outcome`), and nothing is sent. Each message is
written in the customer's language (the language the story was told in when the phone said it,
else the location's, else the event's), from the same gettext catalogues the pages use, read
with Babel's own `Translations` (the domain imports no Flask). An acknowledgement says who owns
the follow-up and by when (the moment it happened plus the event's SLA, in the location's time
zone); a closing note carries a signed link to /heard/<token>, where the customer can say it is
not resolved: that reopens the follow-up for organizers (its history and the audit say so).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_timezone_location
from babel.support import NullTranslations, Translations
from itsdangerous import BadSignature, URLSafeSerializer
from sqlite_utils import Database

from ..contract.requests import without_controls
from ..event.languages import DEFAULT, babel_name, supported
from ..followups.alerts import Settings
from ..people.profile import is_email
from ..store import audit, logs
from ..store import db as dbm
from ..store.db import Row
from ..stories.text import reference

log = logging.getLogger(__name__)
CATALOGUES = Path(__file__).resolve().parent.parent / "translations"
ACTOR = "tracker"  # the audit's actor of messages the outbox writes
CUSTOMER = "customer"  # ... and of the customer's own answer
BATCH = 200
STALE = timedelta(days=2)  # a queued row older than this when mail is first set up is history
MAX_ANSWER = 2000  # characters the customer may add to "not resolved"
_SALT = "tracker.heard.not-resolved"


class UnknownMessage(LookupError):
    """A link that names no message of ours (altered, or from another server's key)."""


@lru_cache(maxsize=16)
def catalogue(tag: str) -> NullTranslations:
    """The compiled catalogue of one of our language tags (Babel's Translations over the same
    .mo files Flask-Babel reads); the identity for English or a catalogue not compiled."""
    return Translations.load(str(CATALOGUES), [babel_name(tag)], "messages")


def language_of(row: Mapping[str, Any]) -> str:
    """The customer's language tag: what the story was told in, else the location's, else the
    event's, else English."""
    for key in ("language", "location_language", "event_language"):
        tag = supported(row.get(key))
        if tag:
            return tag
    return DEFAULT


def due_text(happened_at: str, sla_hours: float, timezone: str, tag: str) -> str:
    """When the customer will hear back, as their language writes it in the location's time
    zone: "Friday, October 9, 2026, 10:02 AM (Berlin)"."""
    zone = ZoneInfo(timezone)
    due = dbm.parse_iso(happened_at) + timedelta(hours=sla_hours)
    locale = babel_name(tag)
    day = format_date(due.astimezone(zone), "full", locale=locale)
    hour = format_time(due, "short", tzinfo=zone, locale=locale)
    city = get_timezone_location(zone, locale=locale, return_city=True)
    return f"{day}, {hour} ({city})"


def acknowledgement(row: Mapping[str, Any], tag: str, sla_hours: float) -> tuple[str, str]:
    """(subject, body) of "we heard you": who owns it, by when, the reference."""
    tr = catalogue(tag)
    ref = reference(int(row["id"]))
    owner = str(row.get("owner") or "").strip() or tr.gettext("our team")
    when = due_text(str(row["happened_at"]), sla_hours, str(row["location_timezone"] or "UTC"), tag)
    subject = tr.gettext("We heard you (%(reference)s)") % {"reference": ref}
    body = "\n\n".join(
        [
            tr.gettext("Thank you for talking with us at %(event)s.")
            % {"event": row["event_name"]},
            tr.gettext("We heard you, and %(owner)s will follow up with you by %(when)s.")
            % {"owner": owner, "when": when},
            tr.gettext("Your reference: %(reference)s") % {"reference": ref},
        ]
    )
    return subject, body


def closing_note(row: Mapping[str, Any], tag: str, link: str) -> tuple[str, str]:
    """(subject, body) of "it was closed", with the link to say it was not."""
    tr = catalogue(tag)
    ref = reference(int(row["id"]))
    subject = tr.gettext("Closed: %(reference)s") % {"reference": ref}
    body = "\n\n".join(
        [
            tr.gettext("We have closed your request %(reference)s.") % {"reference": ref},
            tr.gettext("Not resolved? Tell us here: %(link)s") % {"link": link},
        ]
    )
    return subject, body


def token(secret: str, message_id: int) -> str:
    """The signed token of a closing note's link (the server's SECRET_KEY, its own salt)."""
    return str(URLSafeSerializer(secret, salt=_SALT).dumps(message_id))


def message_id(secret: str, value: str) -> int:
    """The message a link's token names; UnknownMessage for one not signed by this key."""
    try:
        found = URLSafeSerializer(secret, salt=_SALT).loads(value)
    except BadSignature:
        raise UnknownMessage("this link is not one of ours") from None
    if not isinstance(found, int):
        raise UnknownMessage("this link is not one of ours")
    return found


@dataclass(frozen=True)
class Sender:
    """What the outbox task needs to write customers' messages: the alerts' settings (SMTP), the
    server's SECRET_KEY (the links' signature), the public address the links start with, and
    FOLLOW_UP_SLA_HOURS for events that set none."""

    settings: Settings
    secret: str
    base_url: str
    sla_hours: float = 48

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Sender:
        base = str(config.get("PUBLIC_URL") or "").rstrip("/")
        if not base:  # no public address set: where ./scripts/run serves
            base = f"http://{config.get('HOST') or '127.0.0.1'}:{config.get('PORT') or 5000}"
        return cls(
            settings=Settings.from_config(config),
            secret=str(config["SECRET_KEY"]),
            base_url=base,
            sla_hours=float(config.get("FOLLOW_UP_SLA_HOURS") or 48),
        )

    def link(self, message: int, tag: str) -> str:
        return f"{self.base_url}/heard/{token(self.secret, message)}?lang={tag}"


_PENDING = """
    SELECT q.id AS queue_id, q.kind, q.at AS queued_at, c.id, c.uuid, c.follow_up, c.status,
           c.source, c.attendee_id,
           c.owner, c.contact, c.voided_at, c.rehearsal, c.language,
           min(c.captured_at, c.received_at) AS happened_at,
           l.language AS location_language, l.timezone AS location_timezone,
           e.id AS event_id, e.name AS event_name, e.language AS event_language,
           e.follow_up_sla_hours, a.email AS attendee_email, a.consent, a.erased_at,
           a.voided_at AS attendee_voided_at
      FROM customer_queue q INDEXED BY customer_queue_pending
      JOIN conversations c ON c.id = q.conversation_id
      LEFT JOIN stations s ON s.id = c.station_id
      JOIN locations l ON l.id = coalesce(s.location_id, c.location_id)
      JOIN events e ON e.id = l.event_id
      LEFT JOIN attendees a ON a.id = c.attendee_id
     WHERE q.handled_at IS NULL AND c.held_from IS NULL
     ORDER BY q.id LIMIT :batch
"""


def _refusal(row: Row) -> str | None:
    """Why nothing goes to this customer (the queue row's outcome), or None when it goes now.
    (A held story is not read at all until an organizer trusts its network: _PENDING.)"""
    if row["rehearsal"]:
        return "rehearsal"
    if row["voided_at"] is not None:
        return "void"
    if not row["follow_up"]:
        return "no follow-up"
    if row["kind"] == "closed" and row["status"] != "done":
        return "reopened"
    if row["attendee_id"] is None or row["erased_at"] or row["attendee_voided_at"]:
        return "no consent"
    if not (row["consent"] or _told_own_address(row)):
        return "no consent"
    if not _address(row):
        return "no address"
    return None


def _told_own_address(row: Row) -> bool:
    """The customer asked for the follow-up on their own phone and typed an e-mail address."""
    return row["source"] == "attendee" and is_email(str(row["contact"] or "").strip())


def _address(row: Row) -> str:
    """Where the customer consented to hear from us: the follow-up's contact when it is an
    e-mail address (typed by them, or kept with their consent), else the address they kept."""
    contact = str(row["contact"] or "").strip()
    if is_email(contact) and (row["consent"] or row["source"] == "attendee"):
        return contact
    return str(row["attendee_email"] or "").strip() if row["consent"] else ""


def enqueue(db: Database, sender: Sender, now: str | None = None) -> int:
    """Turn the customer queue into e-mails in the alerts' outbox, in one transaction; how many.
    Each one is a `customer_messages` row, a note in the follow-up's history and an audit row
    (`customer.acknowledgement`, `customer.closed`); a row that may not be sent is closed with
    its reason. Nothing at all without SMTP_HOST (rows wait; those older than two days when mail
    is set up are history, never sent)."""
    if not sender.settings.email_on:
        return 0
    now = now or dbm.utcnow()
    stale = dbm.iso(dbm.parse_iso(now) - STALE)
    queued = 0
    with dbm.write(db):
        for row in dbm.rows(db.execute(_PENDING, {"batch": BATCH})):
            why = "too late" if row["queued_at"] < stale else _refusal(row)
            if why is not None:
                db.execute(
                    "UPDATE customer_queue SET handled_at = ?, outcome = ? WHERE id = ?",
                    [now, why, row["queue_id"]],
                )
                continue
            _write(db, sender, row, now)
            queued += 1
    return queued


def _write(db: Database, sender: Sender, row: Row, now: str) -> None:
    tag = language_of(row)
    address = _address(row)
    cur = db.execute(
        "INSERT INTO customer_messages (conversation_id, kind, language, recipient, subject,"
        " body, created_at) VALUES (?, ?, ?, ?, '', '', ?)",
        [row["id"], row["kind"], tag, address, now],
    )
    message = int(cur.lastrowid or 0)
    if row["kind"] == "acknowledgement":
        sla = float(row["follow_up_sla_hours"] or sender.sla_hours)
        subject, body = acknowledgement(row, tag, sla)
    else:
        subject, body = closing_note(row, tag, sender.link(message, tag))
    notification = db.execute(
        "INSERT INTO notifications (channel, recipient, subject, body, created_at,"
        " next_attempt_at) VALUES ('email', ?, ?, ?, ?, ?)",
        [address, subject, body, now, now],
    ).lastrowid
    db.execute(
        "UPDATE customer_messages SET subject = ?, body = ?, notification_id = ? WHERE id = ?",
        [subject, body, notification, message],
    )
    db.execute(
        "UPDATE customer_queue SET handled_at = ?, outcome = 'sent' WHERE id = ?",
        [now, row["queue_id"]],
    )
    what = "acknowledgement" if row["kind"] == "acknowledgement" else "closing note"
    db.execute(
        "INSERT INTO follow_up_events (conversation_id, at, actor, kind, text)"
        " VALUES (?, ?, ?, 'note', ?)",
        [row["id"], now, ACTOR, f"{what} e-mailed to the customer ({tag})"],
    )
    audit.record(
        db,
        row["event_id"],
        ACTOR,
        f"customer.{'acknowledgement' if row['kind'] == 'acknowledgement' else 'closed'}",
        reference(row["id"]),
        None,
        {"message": message, "language": tag},
    )
    logs.event(log, "customer.message", message=message, kind=row["kind"], language=tag)


def message(db: Database, message_id: int) -> Row:
    """One closing note as its page shows it: {"id", "kind", "language", "reference",
    "status", "not_resolved_at"}; UnknownMessage for none (or an acknowledgement)."""
    row = dbm.one(
        db.execute(
            "SELECT m.id, m.kind, m.language, m.conversation_id, m.not_resolved_at, c.status"
            " FROM customer_messages m JOIN conversations c ON c.id = m.conversation_id"
            " WHERE m.id = ? AND m.kind = 'closed'",
            [message_id],
        )
    )
    if row is None:
        raise UnknownMessage("this link is not one of ours")
    row["reference"] = reference(row.pop("conversation_id"))
    return row


def not_resolved(db: Database, message_id: int, text: str = "", now: str | None = None) -> Row:
    """The customer says the closed follow-up is not resolved: kept on the message, the
    follow-up back to open (so it stands first in the queue again, overdue if late), its
    history and the audit (`follow_up.not_resolved`, by "customer") say so. Saying it again
    changes nothing. Returns `message`."""
    text = without_controls(text).strip()[:MAX_ANSWER]
    with dbm.write(db):
        found = message(db, message_id)
        if found["not_resolved_at"] is not None:
            return found
        at = now or dbm.utcnow()
        row = dbm.one(
            db.execute(
                "SELECT c.id, c.status, l.event_id FROM customer_messages m"
                " JOIN conversations c ON c.id = m.conversation_id"
                " LEFT JOIN stations s ON s.id = c.station_id"
                " JOIN locations l ON l.id = coalesce(s.location_id, c.location_id)"
                " WHERE m.id = ?",
                [message_id],
            )
        )
        assert row is not None
        db.execute(
            "UPDATE customer_messages SET not_resolved_at = ?, not_resolved_text = ? WHERE id = ?",
            [at, text or None, message_id],
        )
        note = "The customer says it is not resolved" + (f": {text}" if text else ".")
        db.execute(
            "INSERT INTO follow_up_events (conversation_id, at, actor, kind, text)"
            " VALUES (?, ?, ?, 'note', ?)",
            [row["id"], at, CUSTOMER, note],
        )
        if row["status"] != "open":
            db.execute(
                "UPDATE conversations SET status = 'open', updated_at = ? WHERE id = ?",
                [at, row["id"]],
            )
            db.execute(
                "INSERT INTO follow_up_events (conversation_id, at, actor, kind, text)"
                " VALUES (?, ?, ?, 'status', 'open')",
                [row["id"], at, CUSTOMER],
            )
        audit.record(
            db,
            row["event_id"],
            CUSTOMER,
            "follow_up.not_resolved",
            reference(row["id"]),
            {"status": row["status"]},
            {"status": "open", "said": text or None},
        )
        return message(db, message_id)


def told_in(db: Database, uuid: str, tag: str | None) -> None:
    """Remember the language an attendee's own story was told in (the teller's phone said it),
    once: call it in the transaction that stores the story, so its acknowledgement is written in
    it. Staff and employees' stories keep none (their customer hears back in the location's
    language); a tag we do not speak is ignored. Central's route and a node's forwarded story
    (node/central.py) both come here."""
    tag = supported(tag)
    if tag:
        db.execute(
            "UPDATE conversations SET language = ?"
            " WHERE uuid = ? AND source = 'attendee' AND language IS NULL",
            [tag, uuid],
        )


CSV_COLUMNS = (
    "message",
    "reference",
    "kind",
    "language",
    "recipient",
    "subject",
    "body",
    "created_at",
    "sent_at",
    "attempts",
    "last_error",
    "not_resolved_at",
    "not_resolved_text",
)


def csv_rows(db: Database, event_id: int) -> Iterator[list[Any]]:
    """Every message written to a customer of the event, oldest first, CSV_COLUMNS first; with
    the outbox's state of the e-mail that carried it."""
    yield list(CSV_COLUMNS)
    for row in dbm.rows(
        db.execute(
            "SELECT m.*, n.sent_at, n.attempts, n.last_error FROM customer_messages m"
            " JOIN conversations c ON c.id = m.conversation_id"
            " LEFT JOIN stations s ON s.id = c.station_id"
            " JOIN locations l ON l.id = coalesce(s.location_id, c.location_id)"
            " LEFT JOIN notifications n ON n.id = m.notification_id"
            " WHERE l.event_id = ? ORDER BY m.id",
            [event_id],
        )
    ):
        yield [
            row["id"],
            reference(row["conversation_id"]),
            row["kind"],
            row["language"],
            row["recipient"],
            row["subject"],
            row["body"],
            row["created_at"],
            row["sent_at"],
            row["attempts"],
            row["last_error"],
            row["not_resolved_at"],
            row["not_resolved_text"],
        ]


def counts(db: Database, event_id: int) -> Row:
    """{"acknowledgement", "closed", "not_resolved"}: what the actions page says was written."""
    found = dict.fromkeys(("acknowledgement", "closed", "not_resolved"), 0)
    for kind, n, disputed in db.execute(
        "SELECT m.kind, count(*), count(m.not_resolved_at) FROM customer_messages m"
        " JOIN conversations c ON c.id = m.conversation_id"
        " LEFT JOIN stations s ON s.id = c.station_id"
        " JOIN locations l ON l.id = coalesce(s.location_id, c.location_id)"
        " WHERE l.event_id = ? GROUP BY m.kind",
        [event_id],
    ):
        found[kind] = n
        found["not_resolved"] += disputed
    return found
