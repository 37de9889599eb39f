"""On central: what a node pulls (its event, location, stations, the cookie key, the change feed
of its location, the whole event's figures) and how the records it forwards are stored.

Central trusts no node. Each forwarded record is validated by the wire format's rules
(protocol.py) and applied through the domain's own inserts (checkins.record.insert,
stories.record.insert, stories.employees.insert), so central alone decides what counts and what
shows, by the same rules as for a phone. Each record has its own outcome: applied, or refused
with a reason (stored in `node_refusals`, and parked by the node) while the rest of the batch
goes on. Records are idempotent by their ids: attendees by token, the others by uuid, a newer
revision of a conversation replacing its device-owned fields. So a batch sent again, or after a
lost answer, changes nothing.

A node identifies its database file (a random id made with the file) and reports how many
records central has acknowledged to it. A node that comes back on another file, or reports fewer
than before (an empty or older file: its unsent records are lost), is refused and alarmed until
an organizer accepts it (`flask node accept`). Each call is numbered by the node process as it
reads its count (REPORT_HEADER), so a call overtaken on the way by a later one, which reports
fewer, is told from an older file.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import ValidationError
from sqlite_utils import Database

from ..actions import heard
from ..checkins import record as checkins
from ..contract.sentences import N_, Sentence
from ..figures import scoreboard
from ..people import attendees
from ..security import new_badge
from ..store import audit, logs
from ..store import db as dbm
from ..store.db import Row
from ..stories import employees
from ..stories import record as conversations
from .protocol import (
    CHANGES_PER_PULL,
    CONVERSATION_FIELDS,
    DEVICE_FIELDS,
    EVENT_COLUMNS,
    FILE_HEADER,
    FORWARDED_HEADER,
    FUTURE_SKEW,
    LOCATION_COLUMNS,
    MAX_RECORDS,
    OFFSET_HEADER,
    OLDEST_HEADER,
    PROTOCOL,
    PROTOCOL_HEADER,
    REPORT_HEADER,
    STATION_COLUMNS,
    WAITING_HEADER,
    AttendeeRecord,
    AttendeeRef,
    CheckinRecord,
    ConversationRecord,
    Refusal,
    parse_record,
    problems,
    report_of,
)

log = logging.getLogger(__name__)


class Headers(Protocol):
    """A request's headers, looked up by name in any case (werkzeug's Headers)."""

    def get(self, key: str) -> str | None: ...


class BadRecords(ValueError):
    """A batch that is not a list of at most MAX_RECORDS."""


class UpgradeRequired(Exception):
    """The node speaks another version of the wire format."""


class NodeAlarm(Exception):
    """The node is refused until an organizer decides (its file changed or went back)."""


class Refused(Exception):
    """One record refused: `reason` (a Refusal) and words for people."""

    def __init__(self, reason: Refusal, detail: str):
        super().__init__(detail)
        self.reason = reason


# ---------------------------------------------------------------- every call: who is calling


def check_in_node(db: Database, node: Row, headers: Headers) -> None:
    """Note the node's contact and what it reports, after checking its protocol and its file.

    UpgradeRequired for another protocol; NodeAlarm when the node is alarmed, or comes back on
    another file or behind what central acknowledged (then it is alarmed from now on). A call
    overtaken on the way by a later-numbered call of the same node process is a contact only:
    its figures are older than those central holds. One transaction, as a node's calls run at
    once; the contact is kept whatever the answer."""
    protocol = _number(headers.get(PROTOCOL_HEADER), int) or 1
    file_id = (headers.get(FILE_HEADER) or "").strip()[:64]
    forwarded = _number(headers.get(FORWARDED_HEADER), int) or 0
    report = report_of(headers.get(REPORT_HEADER))
    refused: Exception | None = None
    with dbm.write(db):
        known_file, sequence, known, alarmed = db.execute(
            "SELECT file_id, sequence, report, alarm FROM nodes WHERE id = ?", [node["id"]]
        ).fetchone()
        known = report_of(known)
        overtaken = bool(report and known and report[0] == known[0] and report[1] < known[1])
        figures = {} if overtaken else headers  # an overtaken call's figures are older
        db.execute(
            "UPDATE nodes SET last_seen_at = :now, protocol = :protocol,"
            " reported_waiting = coalesce(:waiting, reported_waiting),"
            " reported_oldest_seconds = coalesce(:oldest, reported_oldest_seconds),"
            " clock_offset_seconds = coalesce(:offset, clock_offset_seconds) WHERE id = :id",
            {
                "now": dbm.utcnow(),
                "protocol": protocol,
                "waiting": _number(figures.get(WAITING_HEADER), int),
                "oldest": _number(figures.get(OLDEST_HEADER), float),
                "offset": _number(figures.get(OFFSET_HEADER), float),
                "id": node["id"],
            },
        )
        if protocol != PROTOCOL:
            refused = UpgradeRequired(
                f"this central speaks node protocol {PROTOCOL}, the node {protocol}: run the same"
                " release of tracker on both"
            )
        elif alarmed:  # maybe by another call of this node since this one began
            refused = NodeAlarm(str(alarm(alarmed)))
        elif raised := _file_alarm(known_file, sequence, file_id, forwarded, overtaken):
            db.execute("UPDATE nodes SET alarm = ? WHERE id = ?", [raised.to_json(), node["id"]])
            refused = NodeAlarm(str(raised))
        elif not overtaken:
            db.execute(
                "UPDATE nodes SET file_id = ?, sequence = max(sequence, ?),"
                " report = coalesce(?, report) WHERE id = ?",
                [file_id or None, forwarded, report and f"{report[0]}.{report[1]}", node["id"]],
            )
    if refused is not None:
        raise refused


def _file_alarm(
    known_file: str | None, sequence: int, file_id: str, forwarded: int, overtaken: bool
) -> Sentence | None:
    """Why a node must wait for an organizer, or None: it reports another file than central
    knows, or fewer records acknowledged (`forwarded`) than central has (`sequence`), unless its
    call was overtaken on the way (its count is old, not its file)."""
    if known_file and file_id != known_file:
        return Sentence(
            N_(
                "came back on another database file: the records it had not forwarded are"
                " not in it. Restore its old file if you can; `flask node accept` lets it"
                " go on."
            )
        )
    if known_file and forwarded < sequence and not overtaken:
        return Sentence(
            N_(
                "came back on an older copy of its file (%(forwarded)s records acknowledged,"
                " central had acknowledged %(acknowledged)s): records may be missing."
                " `flask node accept` lets it go on."
            ),
            {"forwarded": forwarded, "acknowledged": sequence},
        )
    return None


def alarm(stored: str) -> Sentence:
    """A node's alarm as kept in `nodes.alarm` (a Sentence's JSON), to be said to a person."""
    return Sentence.from_json(stored)


def accept(db: Database, event: Row, node_id: int, actor: str) -> bool:
    """An organizer's decision: the node may go on with the file it has now (its alarm clears,
    the next contact records its file). Audited; False for no such node."""
    with dbm.write(db):
        node = dbm.one(
            db.execute(
                "UPDATE nodes SET alarm = NULL, file_id = NULL, sequence = 0, report = NULL"
                " WHERE id = ? AND location_id IN (SELECT id FROM locations WHERE event_id = ?)"
                " RETURNING id",
                [node_id, event["id"]],
            )
        )
        if node is None:
            return False
        audit.record(db, event["id"], actor, "node.accept", f"node #{node_id}")
    return True


def _number(text: str | None, kind: type[int] | type[float]) -> Any:
    try:
        return None if text is None else kind(text)
    except ValueError:
        return None


# ---------------------------------------------------------------- the pull: setup and feed


def setup_for(db: Database, node: Row, cookie_key: str, changes_after: int) -> Row:
    """Everything a node needs to serve its location, and the change feed of its location
    after `changes_after`: each changed record's current state (None: deleted), in order.
    `changes_through` is where the node's next pull starts."""
    location_id = node["location_id"]
    event = _one(
        db, f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE id = ?", node["event_id"]
    )
    location = _one(
        db, f"SELECT {', '.join(LOCATION_COLUMNS)} FROM locations WHERE id = ?", location_id
    )
    stations = dbm.rows(
        db.execute(
            f"SELECT {', '.join(STATION_COLUMNS)} FROM stations WHERE location_id = ? ORDER BY id",
            [location_id],
        )
    )
    changes, through = _changes(db, node, changes_after)
    served = scoreboard.snapshot(db, {**event, "counts": json.loads(event["counts"]),
                                      "topics": json.loads(event["topics"])})  # fmt: skip
    return {
        "protocol": PROTOCOL,
        "event": event,
        "location": location,
        "stations": stations,
        "cookie_key": cookie_key,
        "changes": changes,
        "changes_through": through,
        "snapshot": served,
        "at": dbm.utcnow(),
    }


_CURRENT = {
    "checkin": (
        "SELECT c.uuid AS key, c.uuid, c.station_id, c.counted, c.scanned_at, c.received_at,"
        " c.voided_at, c.held_from, c.rehearsal, a.token, a.badge, a.created_at AS attendee_created_at,"
        " s.location_id = :location AS here FROM checkins c JOIN stations s ON s.id = c.station_id"
        " JOIN attendees a ON a.id = c.attendee_id WHERE c.uuid IN ({keys})"
    ),
    "conversation": (
        "SELECT c.uuid AS key, c.uuid, c.station_id, c.location_id, c.counted, c.approval,"
        " c.voided_at, c.held_from, c.rehearsal, {fields}, a.token, a.badge,"
        " a.created_at AS attendee_created_at,"
        " coalesce(s.location_id, c.location_id) = :location AS here FROM conversations c"
        " LEFT JOIN stations s ON s.id = c.station_id LEFT JOIN attendees a ON a.id = c.attendee_id"
        " WHERE c.uuid IN ({keys})"
    ),
    # An attendee travels only to a node of a location where they checked in or spoke.
    "attendee": (
        "SELECT a.token AS key, a.token, a.badge, a.created_at, a.name, a.email, a.company,"
        " a.consent, a.erased_at, a.voided_at, a.rehearsal, a.event_id = :event AND ("
        " EXISTS (SELECT 1 FROM checkins c JOIN stations s ON s.id = c.station_id"
        "  WHERE c.attendee_id = a.id AND s.location_id = :location)"
        " OR EXISTS (SELECT 1 FROM conversations c JOIN stations s ON s.id = c.station_id"
        "  WHERE c.attendee_id = a.id AND s.location_id = :location)) AS here"
        " FROM attendees a WHERE a.token IN ({keys})"
    ),
}


def _changes(db: Database, node: Row, after: int) -> tuple[list[Row], int]:
    listed = db.execute(
        "SELECT seq, kind, key FROM changes WHERE seq > ? ORDER BY seq LIMIT ?",
        [after, CHANGES_PER_PULL],
    ).fetchall()
    if not listed:
        return [], after
    latest: dict[tuple[str, str], int] = {}
    for seq, kind, key in listed:
        latest[(kind, key)] = seq  # a record changed twice travels once, at its last change
    current: dict[tuple[str, str], Row] = {}
    for kind, sql in _CURRENT.items():
        keys = [key for (k, key) in latest if k == kind]
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            named = {f"k{i}": key for i, key in enumerate(part)}
            query = sql.format(
                keys=", ".join(f":{name}" for name in named),
                fields=", ".join(f"c.{f}" for f in CONVERSATION_FIELDS),
            )
            for row in dbm.rows(
                db.execute(
                    query, {**named, "location": node["location_id"], "event": node["event_id"]}
                )  # fmt: skip
            ):
                current[(kind, row.pop("key"))] = row
    changes = []
    for (kind, key), seq in sorted(latest.items(), key=lambda item: item[1]):
        state = current.get((kind, key))
        if state is None:
            changes.append({"seq": seq, "kind": kind, "key": key, "row": None})
        elif state.pop("here"):
            changes.append({"seq": seq, "kind": kind, "key": key, "row": state})
    return changes, int(listed[-1][0])


def _one(db: Database, sql: str, *params: object) -> Row:
    row = dbm.one(db.execute(sql, list(params)))
    assert row is not None
    return row


# ---------------------------------------------------------------- forwarded records


def apply_records(db: Database, node: Row, records: object) -> Row:
    """Store a node's batch in one transaction, in order, each record on its own:
    {"results": [{"status": "applied"} or {"status": "refused", "reason", "detail"}, ...],
     "applied": n, "refused": [indexes], "badges": {token: central's badge where it differs}}.
    BadRecords when `records` is not a list of at most MAX_RECORDS."""
    if not isinstance(records, list) or len(records) > MAX_RECORDS:
        raise BadRecords(f"records must be a list of at most {MAX_RECORDS}")
    station_ids = {
        r[0]
        for r in db.execute(
            "SELECT id FROM stations WHERE location_id = ?", [node["location_id"]]
        ).fetchall()
    }
    results: list[Row] = []
    badges: dict[str, str] = {}
    now = datetime.now(UTC)
    with dbm.write(db):
        event = _one(db, "SELECT id, moderation FROM events WHERE id = ?", node["event_id"])
        for raw in records:
            kind = raw.get("kind") if isinstance(raw, dict) else None
            key = (raw.get("uuid") or raw.get("token")) if isinstance(raw, dict) else None
            try:
                with dbm.write(db):  # a savepoint: a refused record leaves nothing behind
                    record = _parsed(raw, now)
                    _apply(db, event, node, station_ids, record, badges)
                    if not isinstance(record, AttendeeRecord):
                        db.execute(
                            "INSERT OR IGNORE INTO node_records (kind, uuid, node_id, at)"
                            " VALUES (?, ?, ?, ?)",
                            [record.kind, str(record.uuid), node["id"], dbm.utcnow()],
                        )
                results.append({"status": "applied"})
            except Refused as refused:
                results.append(
                    {"status": "refused", "reason": refused.reason, "detail": str(refused)}
                )
                db.execute(
                    "INSERT INTO node_refusals (node_id, kind, uuid, reason, detail, at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [node["id"], str(kind)[:20] if kind else None, str(key)[:100] if key else None,
                     refused.reason, str(refused)[:500], dbm.utcnow()],
                )  # fmt: skip
    refused_at = [i for i, r in enumerate(results) if r["status"] == "refused"]
    reasons = sorted({str(r["reason"]) for r in results if r["status"] == "refused"})
    logs.event(log, "node.batch", node=node["id"], applied=len(results) - len(refused_at),
               refused=len(refused_at), reasons=",".join(reasons) or None)  # fmt: skip
    return {
        "results": results,
        "applied": len(results) - len(refused_at),
        "refused": refused_at,
        "badges": badges,
    }


def _parsed(raw: object, now: datetime) -> AttendeeRecord | CheckinRecord | ConversationRecord:
    try:
        record = parse_record(raw)
    except (ValidationError, ValueError) as exc:
        raise Refused(Refusal.invalid_record, problems(exc)) from None
    for name, value in record:
        if isinstance(value, datetime) and value > now + FUTURE_SKEW:
            raise Refused(Refusal.clock, f"{name} is in the future by central's clock")
    return record


def _apply(
    db: Database,
    event: Row,
    node: Row,
    station_ids: set[int],
    record: AttendeeRecord | CheckinRecord | ConversationRecord,
    badges: dict[str, str],
) -> None:
    if isinstance(record, AttendeeRecord):
        attendee = _attendee(db, event["id"], record, badges)
        # The attendee's details are theirs (device-owned): what they typed, or cleared, holds.
        db.execute(
            "UPDATE attendees SET name = ?, email = ?, company = ?, consent = ? WHERE id = ?",
            [record.name, record.email, record.company, record.consent, attendee["id"]],
        )
    elif isinstance(record, CheckinRecord):
        if record.station_id not in station_ids:
            raise Refused(Refusal.wrong_location, "a station of another location")
        owner = _attendee(db, event["id"], record.attendee, badges)
        _checkin(db, record, owner)
    elif record.source == "employee":
        _employee_story(db, node, record)
    else:
        if record.station_id not in station_ids:
            raise Refused(Refusal.wrong_location, "a station of another location")
        who = _attendee(db, event["id"], record.attendee, badges) if record.attendee else None
        _conversation(db, event, record, who)


def _attendee(db: Database, event_id: int, ref: AttendeeRef, badges: dict[str, str]) -> Row:
    """The attendee with the record's token, made with the node's badge if central has not met
    them (another badge if that one is taken). Refused for another event's token."""
    found = dbm.one(db.execute("SELECT * FROM attendees WHERE token = ?", [ref.token]))
    if found is None:
        taken = db.execute("SELECT 1 FROM attendees WHERE badge = ?", [ref.badge]).fetchone()
        badge = ref.badge if taken is None else attendees.badge_for(ref.token)
        if db.execute("SELECT 1 FROM attendees WHERE badge = ?", [badge]).fetchone():
            badge = new_badge()
        found = dbm.one(
            db.execute(
                "INSERT INTO attendees (event_id, token, badge, created_at, rehearsal)"
                " VALUES (?, ?, ?, ?, ?) RETURNING *",
                [event_id, ref.token, badge, dbm.iso(ref.created_at), ref.rehearsal],
            )
        )
        assert found is not None
    if found["event_id"] != event_id:
        raise Refused(Refusal.other_event, "an attendee of another event")
    if found["badge"] != ref.badge:
        badges[ref.token] = found["badge"]
    return found


def _checkin(db: Database, record: CheckinRecord, owner: Row) -> None:
    uuid = str(record.uuid)
    stored = db.execute(
        "SELECT station_id, attendee_id FROM checkins WHERE uuid = ?", [uuid]
    ).fetchone()
    if stored is not None:  # sent again: the same record is fine, another one's id is not
        if tuple(stored) != (record.station_id, owner["id"]):
            raise Refused(Refusal.id_conflict, "the id belongs to another check-in")
        return
    checkins.insert(
        db,
        uuid,
        record.station_id,
        owner,
        dbm.iso(record.scanned_at),
        dbm.iso(record.received_at),
        bool(record.rehearsal),
    )


def _employee_story(db: Database, node: Row, record: ConversationRecord) -> None:
    if record.location_id != node["location_id"]:
        raise Refused(Refusal.wrong_location, "an employee's story of another location")
    uuid = str(record.uuid)
    stored = db.execute(
        "SELECT source, location_id FROM conversations WHERE uuid = ?", [uuid]
    ).fetchone()
    if stored is not None:
        if tuple(stored) != ("employee", node["location_id"]):
            raise Refused(Refusal.id_conflict, "the id belongs to another record")
        return
    employees.insert(
        db,
        uuid,
        node["location_id"],
        record.story,
        bool(record.public),
        dbm.iso(record.captured_at),
        dbm.iso(record.received_at),
        bool(record.rehearsal),
    )


def _conversation(
    db: Database, event: Row, record: ConversationRecord, attendee: Row | None
) -> None:
    uuid = str(record.uuid)
    values: dict[str, Any] = {
        "uuid": uuid,
        "station_id": record.station_id,
        "source": record.source,
        "staff_name": record.staff_name if record.source == "staff" else None,
        "attendee_id": attendee["id"] if attendee else None,
        "story": record.story,
        "nps": record.nps,
        "topics": json.dumps(record.topics),
        "follow_up": record.follow_up,
        "contact": record.contact,
        "owner": record.owner,
        "status": "open" if record.follow_up else None,
        "public": record.public,
        "captured_at": dbm.iso(record.captured_at),
        "received_at": dbm.iso(record.received_at),
        "updated_at": dbm.iso(record.updated_at) if record.updated_at else None,
        "rehearsal": record.rehearsal,
        "revision": record.revision,
        "device_at": dbm.iso(record.device_captured_at) if record.device_captured_at else None,
    }
    stored = dbm.one(
        db.execute(
            "SELECT station_id, source, revision, story, public, approval FROM conversations"
            " WHERE uuid = ?",
            [uuid],
        )
    )
    if stored is None:
        source: conversations.Source = "staff" if record.source == "staff" else "attendee"
        values["approval"] = conversations.first_approval(event, source)
        conversations.insert(db, values)
    elif stored["station_id"] != record.station_id or stored["source"] != record.source:
        raise Refused(Refusal.id_conflict, "the id belongs to another conversation")
    # Kept once, so a later version may bring it when a node of an older release sent none.
    heard.told_in(db, uuid, record.language)
    if stored is None or record.revision <= stored["revision"]:
        return  # new, or a version central holds already, or an older one: nothing changes
    approval = conversations.approval_after_edit(event, stored, record.story, record.public)
    # Device-owned fields from the node; the owner and the status are central's once set.
    db.execute(
        "UPDATE conversations SET attendee_id = :attendee_id,"
        f" {', '.join(f'{f} = :{f}' for f in DEVICE_FIELDS if f != 'device_captured_at')},"
        " device_captured_at = :device_at, owner = coalesce(owner, :owner),"
        " status = coalesce(status, :status), approval = :approval, updated_at = :updated_at,"
        " revision = :revision WHERE uuid = :uuid",
        {**values, "approval": approval},
    )


def attendee_by_badge(db: Database, node: Row, badge: str) -> Row | None:
    """An attendee of the node's event by badge code, as the node stores one ({token, badge,
    created_at}): staff at the node typed the badge of someone only central has met."""
    return dbm.one(
        db.execute(
            "SELECT token, badge, created_at FROM attendees WHERE badge = ? AND event_id = ?",
            [badge, node["event_id"]],
        )
    )


def refusals(db: Database, node_id: int, limit: int = 20) -> list[Row]:
    """The node's latest refused records, newest first, for organizers."""
    return dbm.rows(
        db.execute(
            "SELECT kind, uuid, reason, detail, at FROM node_refusals WHERE node_id = ?"
            " ORDER BY id DESC LIMIT ?",
            [node_id, limit],
        )
    )
