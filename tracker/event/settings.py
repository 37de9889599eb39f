"""The event's settings as organizers change them in the console (and `flask` commands): the
goal, topics, dates, time zone, what counts, moderation, languages, quick mode, the follow-up
SLA and the venue's networks. Each is checked by the event file's own rules, so what the console accepts a file would
accept too; each change is audited with before and after, in its transaction."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date

from pydantic import ValidationError
from sqlite_utils import Database

from ..contract.sentences import N_, Refusal
from ..store import audit
from ..store import db as dbm
from .file import EventSpec, check_language
from .problems import refusal
from .setup import describe

# --- the event's settings, edited in the console -------------------------------------------------
# Each is checked by the event file's own rules (EventSpec), with the event as stored and the one
# change, so what the console accepts a file would accept too, and the reverse.


def _event_spec(db: Database, event_id: int, **changes: object) -> EventSpec:
    """The stored event as its file would say it, with `changes`, checked whole; a Refusal
    saying the fault ("topics 3: at most 80 characters") when the file would be refused."""
    row = dbm.one(db.execute("SELECT * FROM events WHERE id = ?", [event_id]))
    if row is None:
        raise ValueError(f"no event #{event_id}")

    def day(value: str | None) -> date | None:
        return date.fromisoformat(value[:10]) if value else None

    data: dict[str, object] = {
        "slug": row["slug"],
        "name": row["name"],
        "goal": row["goal"],
        "timezone": row["timezone"],
        "starts_at": day(row["starts_at"]),
        "ends_at": day(row["ends_at"]),
        "counts": json.loads(row["counts"]),
        "topics": json.loads(row["topics"]),
        "moderation": row["moderation"],
        "language": row["language"],
        **changes,
    }
    try:
        return EventSpec.model_validate(data)
    except ValidationError as exc:
        raise refusal(exc) from None


def _set_event(
    db: Database, event_id: int, action: str, values: dict[str, object], actor: str
) -> bool:
    """Store `values` (column: stored form) if any differs; audited with before and after.
    Returns whether anything changed."""
    columns = list(values)
    with dbm.write(db):
        before = dbm.one(
            db.execute(f"SELECT {', '.join(columns)} FROM events WHERE id = ?", [event_id])
        )
        if before is None:
            raise ValueError(f"no event #{event_id}")
        if all(before[c] == values[c] for c in columns):
            return False
        sets = ", ".join(f"{c} = :{c}" for c in columns)
        db.execute(f"UPDATE events SET {sets} WHERE id = :id", {**values, "id": event_id})

        def readable(stored: Mapping[str, object]) -> dict[str, object]:
            """As the event file writes it: lists for counts and topics, true/false for flags."""
            return {
                c: json.loads(str(v))
                if c in ("counts", "topics", "networks") and v is not None
                else bool(v)
                if c == "quick_mode"
                else v
                for c, v in stored.items()
            }

        audit.record(
            db,
            event_id,
            actor,
            action,
            describe(db, "events", event_id)[1],
            readable(before),
            readable(values),
        )
    return True


def set_topics(
    db: Database, event_id: int, topics: list[str], actor: str = audit.COMMAND_LINE
) -> bool:
    """The topics staff choose from, in this order (add, rename, remove: the list as a whole).
    Stored conversations keep the topics they were logged with. At most 40, each 1-80
    characters, none twice (any case). ValueError, changing nothing, otherwise; audited."""
    spec = _event_spec(db, event_id, topics=list(topics))
    seen: set[str] = set()
    for topic in spec.topics:
        if topic.casefold() in seen:
            raise Refusal(N_("topic %(topic)s is listed twice"), topic=repr(topic))
        seen.add(topic.casefold())
    return _set_event(db, event_id, "event.topics", {"topics": json.dumps(spec.topics)}, actor)


def set_dates(
    db: Database,
    event_id: int,
    starts_at: date | None,
    ends_at: date | None,
    actor: str = audit.COMMAND_LINE,
) -> bool:
    """The event's first and last day (either may be unset); the last is not before the first.
    ValueError, changing nothing, otherwise; audited."""
    spec = _event_spec(db, event_id, starts_at=starts_at, ends_at=ends_at)
    if spec.starts_at and spec.ends_at and spec.ends_at < spec.starts_at:
        raise Refusal(N_("the last day comes before the first"))
    values: dict[str, object] = {
        "starts_at": spec.starts_at.isoformat() if spec.starts_at else None,
        "ends_at": spec.ends_at.isoformat() if spec.ends_at else None,
    }
    return _set_event(db, event_id, "event.dates", values, actor)


def set_timezone(
    db: Database, event_id: int, timezone: str, actor: str = audit.COMMAND_LINE
) -> bool:
    """The event's time zone (an IANA name); each location keeps its own. Audited."""
    spec = _event_spec(db, event_id, timezone=timezone.strip())
    return _set_event(db, event_id, "event.timezone", {"timezone": spec.timezone}, actor)


def set_counts(
    db: Database, event_id: int, counts: list[str], actor: str = audit.COMMAND_LINE
) -> bool:
    """Which engagements count toward the goal: "checkins", "conversations" or both (one at
    least). Boards follow at once: totals are summed by kind as they are read. Audited."""
    spec = _event_spec(db, event_id, counts=list(counts))
    stored = json.dumps(sorted(set(spec.counts)))
    return _set_event(db, event_id, "event.counts", {"counts": stored}, actor)


def set_moderation(
    db: Database, event_id: int, moderation: str, actor: str = audit.COMMAND_LINE
) -> bool:
    """Which public stories wait for approval from now on: "attendees" (their own) or "all"
    (staff's too). Stories already approved or rejected stay so. Audited."""
    spec = _event_spec(db, event_id, moderation=moderation)
    return _set_event(db, event_id, "event.moderation", {"moderation": spec.moderation}, actor)


def set_event_language(
    db: Database, event_id: int, language: str, actor: str = audit.COMMAND_LINE
) -> bool:
    """The language of every location that names none (a BCP 47 tag of tracker's). Audited."""
    spec = _event_spec(db, event_id, language=language.strip())
    return _set_event(db, event_id, "event.language", {"language": spec.language}, actor)


def set_location_language(
    db: Database, location_id: int, language: str | None, actor: str = audit.COMMAND_LINE
) -> bool:
    """What a location's screens, sheets and staff pages speak (None or "": the event's).
    ValueError for a language tracker does not speak, changing nothing; audited."""
    checked = check_language((language or "").strip() or None)
    with dbm.write(db):
        before = db.execute("SELECT language FROM locations WHERE id = ?", [location_id]).fetchone()
        if before is None:
            raise ValueError(f"no location #{location_id}")
        if before[0] == checked:
            return False
        db.execute("UPDATE locations SET language = ? WHERE id = ?", [checked, location_id])
        event_id, subject = describe(db, "locations", location_id)
        audit.record(
            db,
            event_id,
            actor,
            "location.language",
            subject,
            {"language": before[0]},
            {"language": checked},
        )
    return True


def set_goal(db: Database, event_id: int, goal: int, actor: str = audit.COMMAND_LINE) -> bool:
    """The event's goal (a positive whole number up to ten million); returns whether it changed.
    ValueError otherwise. Audited."""
    if not isinstance(goal, int) or isinstance(goal, bool) or not 0 < goal <= 10_000_000:
        raise Refusal(N_("the goal is a positive whole number"))
    return _set_event(db, event_id, "event.goal", {"goal": goal}, actor)


SLA_MAX_HOURS = 24 * 365


def sla_refusal() -> Refusal:
    """What a follow-up SLA that is not one says (the console's form refuses text with it too)."""
    return Refusal(
        N_("the follow-up SLA is a whole number of hours from 1 to %(max)s"), max=SLA_MAX_HOURS
    )


def set_follow_up_sla(
    db: Database, event_id: int, hours: int, actor: str = audit.COMMAND_LINE
) -> bool:
    """Hours within which a follow-up should be acknowledged (1 to 8760); past it the queue
    shows it as overdue, first. ValueError for anything else; the same value changes nothing.
    Audited."""
    if not isinstance(hours, int) or isinstance(hours, bool) or not 0 < hours <= SLA_MAX_HOURS:
        raise sla_refusal()
    return _set_event(db, event_id, "event.follow_up_sla", {"follow_up_sla_hours": hours}, actor)


def set_quick_mode(db: Database, event_id: int, on: bool, actor: str = audit.COMMAND_LINE) -> bool:
    """Switch staff's quick mode (badge, score and one topic save a conversation; the story
    optional) on or off; returns whether it changed. Staff pages follow on their next load.
    Conversations already saved without a story stay as they are when it goes off; only new
    ones (and edits) need a story again. Audited."""
    return _set_event(db, event_id, "event.quick_mode", {"quick_mode": int(on)}, actor)


def set_networks(
    db: Database, event_id: int, networks: list[str], actor: str = audit.COMMAND_LINE
) -> bool:
    """The venue's networks as a whole list (addresses and CIDR networks, at most 100, none
    wider than /8 or /32 for IPv6): new records from them are never held. ValueError, changing
    nothing, for an entry that is not one; audited. Releasing what is already held from them is
    corrections.holds' (which calls this)."""
    spec = _event_spec(db, event_id, networks=list(networks))
    stored = json.dumps(spec.networks or [])
    return _set_event(db, event_id, "event.networks", {"networks": stored}, actor)


def networks_of(db: Database, event_id: int) -> list[str]:
    """The venue's networks as stored (declared or trusted), in order."""
    row = db.execute("SELECT networks FROM events WHERE id = ?", [event_id]).fetchone()
    return json.loads(row[0]) if row else []
