"""On central: enrolling a node for one location, its token (stored only as a hash), revoking
it, and what each node last reported."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from sqlite_utils import Database

from ..store import audit
from ..store import db as dbm
from ..store.db import Row


class UnknownLocation(LookupError):
    """The served event has no location with that slug."""


class NodeRefused(PermissionError):
    """No enrolled, unrevoked node has that token."""


class UnknownNode(LookupError):
    """No node has that id."""


def token_hash(token: str) -> str:
    """What is stored of a node's token: its SHA-256 (the token is 256 random bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


def add(
    db: Database, event: Row, location_slug: str, actor: str = audit.COMMAND_LINE
) -> tuple[Row, str]:
    """Enrol a node for a location of the event: (node row, token). The token is shown once."""
    token = secrets.token_urlsafe(32)
    with dbm.write(db):
        location = dbm.one(
            db.execute(
                "SELECT id, slug FROM locations WHERE event_id = ? AND slug = ?",
                [event["id"], location_slug],
            )
        )
        if location is None:
            raise UnknownLocation(location_slug)
        node = dbm.one(
            db.execute(
                "INSERT INTO nodes (location_id, token_hash, created_at) VALUES (?, ?, ?)"
                " RETURNING *",
                [location["id"], token_hash(token), dbm.utcnow()],
            )
        )
        assert node is not None
        audit.record(db, event["id"], actor, "node.add", f"node #{node['id']} for {location_slug}")
    return node, token


def nodes(db: Database, event_id: int | None, now: datetime | None = None) -> list[Row]:
    """Every node of the event's locations (of every event with None), oldest first, as of now: its location, when it was
    last heard from and how long ago (`silent_seconds`, None: never), the backlog it reported
    then, its clock offset, the records central refused from it, and an alarm to decide on."""
    found = dbm.rows(
        db.execute(
            "SELECT n.id, n.created_at, n.revoked_at, n.last_seen_at, n.reported_waiting,"
            " n.reported_oldest_seconds, n.clock_offset_seconds, n.protocol, n.alarm,"
            " (SELECT count(*) FROM node_refusals r WHERE r.node_id = n.id) AS refused,"
            " l.slug AS location, l.name AS location_name"
            " FROM nodes n JOIN locations l ON l.id = n.location_id"
            " WHERE ? IS NULL OR l.event_id = ? ORDER BY n.id",
            [event_id, event_id],
        )
    )
    moment = now or datetime.now(UTC)
    for node in found:
        seen = node["last_seen_at"]
        node["silent_seconds"] = (
            None if seen is None else round((moment - dbm.parse_iso(seen)).total_seconds())
        )
    return found


def revoke(db: Database, event: Row, node_id: int, actor: str = audit.COMMAND_LINE) -> Row:
    """Stop a node at once: its token is refused from the next request on."""
    with dbm.write(db):
        node = dbm.one(
            db.execute(
                "UPDATE nodes SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?"
                " AND location_id IN (SELECT id FROM locations WHERE event_id = ?) RETURNING *",
                [dbm.utcnow(), node_id, event["id"]],
            )
        )
        if node is None:
            raise UnknownNode(node_id)
        audit.record(db, event["id"], actor, "node.revoke", f"node #{node_id}")
    return node


_NODE = (
    "SELECT n.*, l.event_id, l.slug AS location_slug FROM nodes n"
    " JOIN locations l ON l.id = n.location_id WHERE "
)


def authenticate(db: Database, token: str) -> Row:
    """The node holding `token`, with its location's event; NodeRefused for an unknown or
    revoked token."""
    node = dbm.one(db.execute(_NODE + "n.token_hash = ?", [token_hash(token)]))
    if node is None or node["revoked_at"] is not None:
        raise NodeRefused("unknown or revoked node token")
    return node


def get(db: Database, node_id: int) -> Row:
    """A node by its number, as `authenticate` gives it; UnknownNode if there is none."""
    node = dbm.one(db.execute(_NODE + "n.id = ?", [node_id]))
    if node is None:
        raise UnknownNode(node_id)
    return node
