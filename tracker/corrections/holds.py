"""Held records: what one address produced beyond what it can plausibly produce, stored but not
counted, until an organizer trusts that network (they count, and new ones from it are not held)
or voids them.

A whole venue may share one address behind its NAT, so tracker never refuses a phone for its
address; the web layer decides, per address and per attendee, what to hold (web/api_checkins.py)
and passes the address to checkins.record. Here: the address a record is held for, the venue's
networks, Today's list of held records by address, and the organizer's two answers to it.
Every change is audited in its transaction.
"""

from __future__ import annotations

import ipaddress
import json
import uuid as uuidlib
from functools import lru_cache
from typing import Any

from sqlite_utils import Database

from ..event import settings as eventsettings
from ..event.file import check_network
from ..store import audit
from ..store import db as dbm
from ..store.db import Row
from .voids import checked_reason

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# The event's stations: held check-ins and stories are scoped to the event through them (an
# employee's story has no station and is never held; neither is a staff conversation).
_OF_EVENT = "station_id IN (SELECT s.id FROM stations s JOIN locations l ON l.id = s.location_id WHERE l.event_id = ?)"
# Marks voids made here, so a restore brings back exactly those and no void made on its own.
BATCH_PREFIX = "held:"


@lru_cache(maxsize=8192)
def key_of(address: str | None) -> str | None:
    """The address a record is held for: an IPv4 address as it is; an IPv6 address as its /64
    (one subscriber's prefix: a script could take a new address of it for every request); an
    IPv4 address carried in IPv6 as the IPv4 one. None stays None; a text that is no address
    (a test client's) stays as it is."""
    if address is None:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@lru_cache(maxsize=64)
def networks(stored: str | None) -> tuple[Network, ...]:
    """The event's `networks` column (JSON) as networks, read once per distinct value."""
    return tuple(ipaddress.ip_network(n, strict=False) for n in json.loads(stored or "[]"))


def trusted(stored: str | None, address: str | None) -> bool:
    """Whether `address` (a client's) is in one of the venue's networks (`stored`, JSON)."""
    if not address or not stored or stored == "[]":
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks(stored))


def covered(key: str, within: tuple[Network, ...]) -> bool:
    """Whether the held-for address or network `key` lies inside one of `within`."""
    try:
        held = ipaddress.ip_network(key, strict=False)
    except ValueError:
        return False
    return any(
        held.version == network.version and held.subnet_of(network)  # type: ignore[arg-type]
        for network in within
    )


def held(db: Database, event_id: int) -> list[Row]:
    """The event's held records by the address they were held for, latest first: {"address",
    "checkins" (first visits), "stories" (first stories at a station): what would count if
    trusted, "held" (their sum), "repeats", "phones" (attendees held as a whole), "voided"
    (held records voided since), "first_at", "last_at"}."""
    rows = db.execute(
        "SELECT k, sum(firsts), sum(repeats), sum(stories), sum(voided), min(at), max(at) FROM ("
        " SELECT c.held_from AS k, c.counted = 1 AND c.voided_at IS NULL AS firsts,"
        "  c.counted = 0 AND c.voided_at IS NULL AS repeats, 0 AS stories,"
        "  c.voided_at IS NOT NULL AS voided, c.received_at AS at"
        "  FROM checkins c INDEXED BY checkins_held"
        f" WHERE c.held_from IS NOT NULL AND c.{_OF_EVENT}"
        " UNION ALL"
        " SELECT v.held_from, 0, 0, v.counted = 1 AND v.voided_at IS NULL,"
        "  v.voided_at IS NOT NULL, v.received_at"
        "  FROM conversations v INDEXED BY conversations_held"
        f" WHERE v.held_from IS NOT NULL AND v.{_OF_EVENT}"
        ") GROUP BY k ORDER BY max(at) DESC, k",
        [event_id, event_id],
    ).fetchall()
    phones = dict(
        db.execute(
            "SELECT held_from, count(*) FROM attendees INDEXED BY attendees_held"
            " WHERE held_from IS NOT NULL AND event_id = ? AND voided_at IS NULL GROUP BY held_from",
            [event_id],
        ).fetchall()
    )
    return [
        {
            "address": key,
            "checkins": firsts,
            "stories": stories,
            "held": firsts + stories,
            "repeats": repeats,
            "phones": phones.get(key, 0),
            "voided": voided,
            "first_at": first_at,
            "last_at": last_at,
        }
        for key, firsts, repeats, stories, voided, first_at, last_at in rows
    ]


def totals(db: Database, event_id: int) -> dict[str, int]:
    """How many first check-ins and first stories are held and not voided, in all."""
    out = {}
    for table in ("checkins", "conversations"):
        out[table] = db.execute(
            f"SELECT count(*) FROM {table} INDEXED BY {table}_held WHERE held_from IS NOT NULL"
            f" AND counted = 1 AND voided_at IS NULL AND {_OF_EVENT}",
            [event_id],
        ).fetchone()[0]
    return out


def _keys(db: Database, event_id: int) -> list[str]:
    """Every address something of the event is held for."""
    found: set[str] = set()
    for table in ("checkins", "conversations"):
        found.update(
            k
            for (k,) in db.execute(
                f"SELECT DISTINCT held_from FROM {table} INDEXED BY {table}_held"
                f" WHERE held_from IS NOT NULL AND {_OF_EVENT}",
                [event_id],
            )
        )
    found.update(
        k
        for (k,) in db.execute(
            "SELECT DISTINCT held_from FROM attendees INDEXED BY attendees_held"
            " WHERE held_from IS NOT NULL AND event_id = ?",
            [event_id],
        )
    )
    return sorted(found)


def _release(db: Database, event_id: int, keys: list[str]) -> dict[str, int]:
    """Held records (and attendees held as a whole) of `keys` count from now on; call inside a
    write. The triggers put each first visit and first story into the totals."""
    changed = {"checkins": 0, "conversations": 0, "attendees": 0}
    if not keys:
        return changed
    marks = ", ".join("?" * len(keys))
    for table in ("checkins", "conversations"):
        changed[table] = db.execute(
            f"UPDATE {table} SET held_from = NULL WHERE held_from IN ({marks}) AND {_OF_EVENT}",
            [*keys, event_id],
        ).rowcount
    changed["attendees"] = db.execute(
        f"UPDATE attendees SET held_from = NULL WHERE held_from IN ({marks}) AND event_id = ?",
        [*keys, event_id],
    ).rowcount
    return changed


def trust(db: Database, event_id: int, network: str, actor: str) -> dict[str, int]:
    """Trust `network` (an address, a held-for /64, or a CIDR network) for the rest of the
    event: it joins the venue's networks (new records from it are not held; every server
    process follows within a request) and everything held from inside it counts now.
    ValueError for a text that is no address or network. Returns what was released; audited."""
    checked = check_network(network)
    within = (ipaddress.ip_network(checked, strict=False),)
    with dbm.write(db):
        listed = eventsettings.networks_of(db, event_id)
        if checked not in listed:
            db.execute(
                "UPDATE events SET networks = ? WHERE id = ?",
                [json.dumps([*listed, checked]), event_id],
            )
        keys = [k for k in _keys(db, event_id) if covered(k, within)]
        changed = _release(db, event_id, keys)
        audit.record(db, event_id, actor, "network.trust", checked, None, changed)
    return changed


def set_networks(
    db: Database, event_id: int, listed: list[str], actor: str = audit.COMMAND_LINE
) -> tuple[bool, dict[str, int]]:
    """The venue's networks as a whole list (the setup page): checked as the event file checks
    them (ValueError, nothing changed), stored (audited), and what is held from inside them
    counts now (audited too when there was any). Returns (changed, released)."""
    with dbm.write(db):
        changed = eventsettings.set_networks(db, event_id, listed, actor)
        within = networks(json.dumps(eventsettings.networks_of(db, event_id)))
        keys = [k for k in _keys(db, event_id) if covered(k, within)]
        released = _release(db, event_id, keys)
        if any(released.values()):
            audit.record(db, event_id, actor, "network.trust", ", ".join(keys), None, released)
    return changed, released


def _set_void(
    db: Database, event_id: int, key: str, mark: list[Any] | None, only_batch: bool
) -> dict[str, int]:
    """Void (`mark`: when, who, why, batch) or restore (None) what is held from `key`: the
    attendees held as a whole (what they record later arrives voided, with the same mark)
    and every held check-in and story. A restore brings back only what a void here made."""
    changed = {}
    batch_only = f" AND void_batch LIKE '{BATCH_PREFIX}%'" if only_batch else ""
    sets = (
        "voided_at = ?, voided_by = ?, void_reason = ?, void_batch = ?"
        if mark
        else "voided_at = NULL, voided_by = NULL, void_reason = NULL, void_batch = NULL"
    )
    which = "voided_at IS NULL" if mark else f"voided_at IS NOT NULL{batch_only}"
    values = mark or []
    for table in ("checkins", "conversations"):
        changed[table] = db.execute(
            f"UPDATE {table} SET {sets} WHERE held_from = ? AND {which} AND {_OF_EVENT}",
            [*values, key, event_id],
        ).rowcount
    changed["attendees"] = db.execute(
        f"UPDATE attendees SET {sets} WHERE held_from = ? AND {which} AND event_id = ?",
        [*values, key, event_id],
    ).rowcount
    return changed


def void_held(db: Database, event_id: int, key: str, actor: str, reason: str) -> dict[str, int]:
    """Void everything held from `key` (and what its held phones record later), with a reason
    (NeedsReason without one). They stay held and in the exports; Restore brings them back
    held. Returns {"checkins", "conversations", "attendees"} voided; audited."""
    reason = checked_reason(reason)
    mark = [dbm.utcnow(), actor, reason, BATCH_PREFIX + uuidlib.uuid4().hex]
    with dbm.write(db):
        changed = _set_void(db, event_id, key, mark, only_batch=False)
        audit.record(db, event_id, actor, "held.void", key, None, {**changed, "reason": reason})
    return changed


def restore_held(db: Database, event_id: int, key: str, actor: str) -> dict[str, int]:
    """Undo void_held for `key`: its records are held again (voids made one by one stay)."""
    with dbm.write(db):
        changed = _set_void(db, event_id, key, None, only_batch=True)
        audit.record(db, event_id, actor, "held.restore", key, None, changed)
    return changed
