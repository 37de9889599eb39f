"""Exports for the follow-up afterwards: CSV that opens right in Excel, JSON, and a consistent backup."""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from ..security import off_loop
from ..store import db as dbm
from ..stories.text import reference_sql

BOM = "\ufeff"  # tells Excel the file is UTF-8, so "Zoë" and "東京" survive a double-click
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# Each query walks its main table in rowid order (CROSS JOIN keeps SQLite from starting at
# locations and sorting every row before the first one: 75 ms in one call at 21,000
# conversations, measured), so a download starts at once and streams in short steps.
QUERIES = {
    "checkins": """
        SELECT c.uuid AS id, c.scanned_at, c.received_at, c.counted, c.voided_at, c.voided_by,
               c.void_reason, c.rehearsal, c.held_from IS NOT NULL AS held, c.held_from,
               l.slug AS location, s.slug AS station, s.name AS station_name,
               a.badge AS attendee_badge, a.name AS attendee_name, a.company AS attendee_company
          FROM checkins c JOIN stations s ON s.id = c.station_id
          JOIN locations l ON l.id = s.location_id JOIN attendees a ON a.id = c.attendee_id
         WHERE l.event_id = :event_id ORDER BY c.id""",
    "conversations": """
        SELECT {reference} AS reference, v.uuid AS id, v.captured_at, v.received_at,
               l.slug AS location, s.slug AS station, s.name AS station_name, v.source,
               v.staff_name, v.story, v.nps, v.topics, v.follow_up, v.contact, v.owner, v.status,
               v.public, v.approval, v.counted, v.voided_at, v.voided_by, v.void_reason,
               v.rehearsal, v.held_from IS NOT NULL AS held, v.held_from,
               a.badge AS attendee_badge, a.name AS attendee_name,
               a.email AS attendee_email, a.company AS attendee_company
          FROM conversations v LEFT JOIN stations s ON s.id = v.station_id
          -- an employee's story has no station: its location is its own
          CROSS JOIN locations l ON l.id = coalesce(s.location_id, v.location_id)
          LEFT JOIN attendees a ON a.id = v.attendee_id
         WHERE l.event_id = :event_id ORDER BY v.id""",
    "follow-ups": """
        SELECT {reference} AS reference, v.received_at, v.status, v.owner, v.contact,
               l.slug AS location, s.name AS station_name, v.nps, v.story,
               a.name AS attendee_name, a.email AS attendee_email, a.company AS attendee_company,
               (SELECT e.at FROM follow_up_events e WHERE e.conversation_id = v.id
                  AND e.kind = 'status' AND e.text = 'acknowledged') AS acknowledged_at,
               (SELECT e.actor FROM follow_up_events e WHERE e.conversation_id = v.id
                  AND e.kind = 'status' AND e.text = 'acknowledged') AS acknowledged_by,
               (SELECT e.at FROM follow_up_events e WHERE e.conversation_id = v.id
                  AND e.kind = 'status' AND e.text = 'done') AS done_at,
               (SELECT e.actor FROM follow_up_events e WHERE e.conversation_id = v.id
                  AND e.kind = 'status' AND e.text = 'done') AS done_by,
               (SELECT group_concat(e.at || ' ' || e.actor || ': ' || e.text, char(10))
                  FROM follow_up_events e WHERE e.conversation_id = v.id AND e.kind = 'note')
                 AS notes
          FROM conversations v CROSS JOIN stations s ON s.id = v.station_id
          CROSS JOIN locations l ON l.id = s.location_id LEFT JOIN attendees a ON a.id = v.attendee_id
         WHERE l.event_id = :event_id AND v.follow_up = 1 ORDER BY v.id""",
}
QUERIES = {kind: sql.format(reference=reference_sql("v")) for kind, sql in QUERIES.items()}
KINDS = tuple(QUERIES)


class UnknownExport(LookupError):
    pass


class _Closable:
    """An iterator with the close() that the WSGI server calls when the response ends."""

    def __init__(self, iterator: Iterator[bytes], close: Callable[[], None]) -> None:
        self.iterator, self.close = iterator, close

    def __iter__(self) -> Iterator[bytes]:
        return self.iterator


def neutralise(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_lines(rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """Rows as CSV text a line at a time, as every download of the console writes it: the BOM
    first, then each row with its formula-like cells neutralised (`neutralise`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    for row in rows:
        writer.writerow([neutralise(v) for v in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _rows(db: Database, kind: str, event_id: int) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
    if kind not in QUERIES:
        raise UnknownExport(kind)
    cursor = db.execute(QUERIES[kind], {"event_id": event_id})
    return [c[0] for c in cursor.description], iter(cursor)


BATCH = 100  # rows between turns for the other requests (about 2-3 ms of work, measured)


def csv_stream(db: Database, kind: str, event_id: int, batch: int = BATCH) -> Iterator[str]:
    """CSV text in chunks, so a large export never sits whole in memory, nor holds the serving
    loop: after each batch the other requests get their turn."""
    columns, rows = _rows(db, kind, event_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow(columns)
    for i, row in enumerate(rows, 1):
        writer.writerow([neutralise(v) for v in row])
        if i % batch == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            dbm.cooperate()
    yield buffer.getvalue()


def json_stream(db: Database, kind: str, event_id: int) -> Iterator[str]:
    """A JSON array, one object a row, streamed (the other requests get turns between batches)."""
    columns, rows = _rows(db, kind, event_id)
    yield "["
    for i, row in enumerate(rows):
        if i and i % BATCH == 0:
            dbm.cooperate()
        record = dict(zip(columns, row, strict=True))
        if "topics" in record and record["topics"]:
            record["topics"] = json.loads(record["topics"])
        yield ("," if i else "") + "\n" + json.dumps(record, ensure_ascii=False)
    yield "\n]\n"


def backup(db: Database, target: str | Path) -> Path:
    """A consistent copy of the live database (VACUUM INTO), safe while the day goes on."""
    target = Path(target)
    if target.exists():
        raise FileExistsError(f"{target} exists; choose a new file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    db.execute("VACUUM INTO ?", [str(target)])
    return target


def _backup_with_own_connection(source: str, target: Path) -> None:
    with closing(dbm.connect(source)) as db:
        backup(db, target)


def backup_bytes(source: str) -> Iterable[bytes]:
    """The backup of the database file `source` as a download: written to a temporary file in
    an OS thread of its own (VACUUM INTO runs long and SQLite releases the GIL, so the serving
    loop goes on), streamed, then removed."""
    folder = tempfile.mkdtemp(prefix="tracker-backup-")
    path = Path(folder) / "tracker-backup.db"
    off_loop(_backup_with_own_connection, source, path)

    def chunks() -> Generator[bytes]:
        try:
            with path.open("rb") as f:
                while chunk := f.read(256 * 1024):
                    yield chunk
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    stream = chunks()

    def close() -> None:
        # A HEAD request or a dropped download never starts the generator, so its `finally`
        # would not run: the WSGI server calls this when the response ends, whatever happened.
        stream.close()
        shutil.rmtree(folder, ignore_errors=True)

    return _Closable(stream, close)
