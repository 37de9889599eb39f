"""POST /api/checkins: the attendee's phone reports a scan; the first one per station counts.

And what both check-in routes (this one and the no-JavaScript form, web/attendee.py) share: the
decision to hold. A whole venue may share one address behind its NAT, so no phone is refused for
its address. Instead each server process keeps, in memory, three allowances that refill
steadily (a token bucket: a full minute's worth at once, then that many a minute):

- per address, new attendee identities (a check-in without a cookie): HOLD_NEW_IDENTITIES;
- per address, check-ins that count (a person's first at a station): HOLD_CHECKINS;
- per attendee, stations that count: HOLD_STATIONS, faster than a person walks.

A check-in past any of them is stored held (answered as usual, counted nowhere until an
organizer trusts that network on the Today page, or voids it); a new phone whose first check-in
is held is held as a whole. Records from the venue's networks (the event file's `networks`, the
setup page, or trusted on Today) are never held. An IPv6 address is counted as its /64. With
RATELIMIT_ENABLED off, and on a location node (central judges what a node forwards by the node),
nothing is held. Cost per check-in: a few dictionary updates under a lock that never yields.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from uuid import UUID

from flask import Blueprint, current_app, jsonify, request
from limits import RateLimitItem, parse
from sqlite_utils import Database

from ..checkins import record as checkins
from ..contract.errors import ErrorCode
from ..contract.requests import CheckinIn
from ..corrections import holds
from ..event import lookups as events
from ..store.db import Row, os_thread_primitive
from .context import current_event, get_db
from .identity import attendee_token, set_attendee_cookie
from .jsonapi import json_error, read_json
from .ratelimit import checkin_limits

bp = Blueprint("api_checkins", __name__)

CHECKIN_BODY_BYTES = 2048  # a check-in is two short fields; anything bigger is not one
EXTENSION = "tracker.holds"


class Allowances:
    """Token buckets in the process: each key holds up to a limit's amount, refilled at that
    amount per its window, one taken per use. Keys whose bucket is full again are forgotten
    (swept at most every SWEEP_SECONDS), so memory follows the addresses and phones active in
    the last minute or so."""

    SWEEP_SECONDS = 10.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.buckets: dict[str, tuple[float, float, float]] = {}  # key -> (tokens, at, full at)
        self.lock = os_thread_primitive("allocate_lock", threading.Lock)()
        self.next_sweep = 0.0

    def take(self, key: str, limit: RateLimitItem) -> bool:
        """Take one from `key`'s bucket; False (nothing taken) when it is empty."""
        capacity, rate = _bucket(limit)
        now = self.clock()
        with self.lock:
            if now >= self.next_sweep:
                self._sweep(now)
            tokens, at, _ = self.buckets.get(key, (capacity, now, now))
            tokens = min(capacity, tokens + (now - at) * rate)
            if tokens < 1:
                self.buckets[key] = (tokens, now, now + (capacity - tokens) / rate)
                return False
            tokens -= 1
            self.buckets[key] = (tokens, now, now + (capacity - tokens) / rate)
            return True

    def give_back(self, key: str, limit: RateLimitItem) -> None:
        """Return one taken for a use that did not happen (a repeat visit, a refused id)."""
        capacity, rate = _bucket(limit)
        with self.lock:
            found = self.buckets.get(key)
            if found is not None:
                tokens, at, _ = found
                tokens = min(capacity, tokens + 1)
                self.buckets[key] = (tokens, at, at + (capacity - tokens) / rate)

    def _sweep(self, now: float) -> None:
        self.next_sweep = now + self.SWEEP_SECONDS
        for key in [k for k, (_, _, full_at) in self.buckets.items() if full_at <= now]:
            del self.buckets[key]


@cache
def _limit(text: str) -> RateLimitItem:
    return parse(text)


@cache
def _bucket(limit: RateLimitItem) -> tuple[float, float]:
    """(capacity, refill per second) of a limit such as "60 per minute"."""
    return float(limit.amount), limit.amount / limit.get_expiry()


def allowances() -> Allowances:
    """This process's allowances, made on first use."""
    return current_app.extensions.setdefault(EXTENSION, Allowances())


@dataclass
class Hold:
    """One check-in's decision: the address it is held for (None: it counts by the usual
    rules), and what it took from the allowances, given back if it did not count."""

    held_from: str | None = None
    taken: list[tuple[str, RateLimitItem]] = field(default_factory=list)

    def give_back(self) -> None:
        for key, limit in self.taken:
            allowances().give_back(key, limit)
        self.taken.clear()


def decide(event: Row, token: str | None) -> Hold:
    """Whether this request's check-in is held, from its address and the attendee's token."""
    config = current_app.config
    address = request.remote_addr
    if (
        not config.get("RATELIMIT_ENABLED", True)
        or config.get("NODE_UPSTREAM")
        or holds.trusted(event.get("networks"), address)
    ):
        return Hold()
    key = holds.key_of(address) or "unknown"
    meter = allowances()
    hold = Hold()
    wanted = [
        (f"identities/{key}", _limit(config["HOLD_NEW_IDENTITIES"]))
        if token is None
        else (f"stations/{token}", _limit(config["HOLD_STATIONS"])),
        (f"checkins/{key}", _limit(config["HOLD_CHECKINS"])),
    ]
    for wanted_key, limit in wanted:
        if not meter.take(wanted_key, limit):
            hold.give_back()
            return Hold(held_from=key)
        hold.taken.append((wanted_key, limit))
    return hold


def settle(hold: Hold, result: checkins.CheckinResult) -> None:
    """After the check-in: what did not add a counted first visit gives its allowances back;
    a new phone's first visit starts its own station allowance."""
    if hold.held_from is not None:
        return
    if not (result.created and result.checkin["counted"]) or result.held:
        hold.give_back()  # a repeat, an id sent again, or held by its attendee's own mark
        return
    if result.new_identity and hold.taken:  # a new phone, metered: its first station counts
        limit = _limit(current_app.config["HOLD_STATIONS"])
        allowances().take(f"stations/{result.attendee['token']}", limit)


def check_in_here(
    db: Database, event: Row, code: str, token: str | None, checkin_id: UUID | str | None
) -> checkins.CheckinResult:
    """checkins.check_in for this request: its address kept on a new attendee, held or not as
    `decide` says. Raises what check_in raises, with the allowances given back."""
    hold = decide(event, token)
    try:
        result = checkins.check_in(
            db,
            event,
            code,
            token,
            checkin_id,
            client_ip=request.remote_addr,
            held_from=hold.held_from,
        )
    except Exception:
        hold.give_back()
        raise
    settle(hold, result)
    return result


@bp.post("/api/checkins")
@checkin_limits
def create_checkin():
    body = read_json(CheckinIn, CHECKIN_BODY_BYTES)
    event = current_event()
    db = get_db()
    try:
        result = check_in_here(db, event, body.station, attendee_token(), body.id)
    except events.UnknownStation:
        return json_error(404, ErrorCode.unknown_station, "no active station has that code")
    except checkins.IdConflict as exc:
        return json_error(422, ErrorCode.id_conflict, str(exc))
    response = jsonify(checkins.summary(result))
    response.status_code = 201 if result.created else 200
    response.headers["Cache-Control"] = "no-store"
    if result.new_identity:
        set_attendee_cookie(response, result.attendee["token"])
    return response
