"""Rate limits: a whole venue may share one address behind NAT, so most limits key on the
person (the attendee's cookie) and the address limits are loose.

The `limits` library counts (its public API: a storage from RATELIMIT_STORAGE_URI, in the
process by default or redis:// to share counts between processes, and the fixed-window
strategy); each route names its limits in code, so nothing runs before requests that have none.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from functools import cache, wraps

from flask import Flask, current_app, request
from limits import RateLimitItem, parse
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from ..people import organizers
from ..people.staff import Backoff
from ..store.db import os_thread_primitive
from .identity import attendee_token

EXTENSION = "tracker.ratelimit"


def clock() -> float:
    """The wall clock the windows are counted on (seconds since the epoch); tests replace it."""
    return time.time()


class FixedWindowMemory(Storage):
    """In-process fixed-window counts for `limits`, through its documented storage interface
    (a `Storage` subclass registered by its STORAGE_SCHEME): RATELIMIT_STORAGE_URI=memory-fixed://.

    Why not limits' own memory:// store: it starts a timer thread (a greenlet under gevent) to
    expire keys whenever the last one has finished, on the check-in path. Measured with
    `scripts/bench checkins`: POST /api/checkins at 452/s on memory:// (guards alone 0.50 of a
    no-op route) against 940/s here (0.70), the next run. Here a key's window is checked when it is counted, and stale keys are
    swept at most once a second; nothing inside the lock can yield.
    """

    STORAGE_SCHEME = ["memory-fixed"]
    SWEEP_SECONDS = 1.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.counts: dict[str, tuple[int, float]] = {}  # key -> (count, window end)
        self.lock = os_thread_primitive("allocate_lock", threading.Lock)()
        self.next_sweep = time.monotonic() + self.SWEEP_SECONDS

    @property
    def base_exceptions(self) -> type[Exception]:
        return RuntimeError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = clock()
        with self.lock:
            self._sweep(now)
            count, ends = self.counts.get(key, (0, 0.0))
            if ends <= now:
                count, ends = 0, now + expiry
            self.counts[key] = (count + amount, ends)
            return count + amount

    def get(self, key: str) -> int:
        count, ends = self.counts.get(key, (0, 0.0))
        return count if ends > clock() else 0

    def get_expiry(self, key: str) -> float:
        count, ends = self.counts.get(key, (0, 0.0))
        now = clock()
        return ends if ends > now else now

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        with self.lock:
            dropped = len(self.counts)
            self.counts.clear()
        return dropped

    def clear(self, key: str) -> None:
        with self.lock:
            self.counts.pop(key, None)

    def _sweep(self, now: float) -> None:
        if time.monotonic() < self.next_sweep:
            return
        self.next_sweep = time.monotonic() + self.SWEEP_SECONDS
        for key in [k for k, (_, ends) in self.counts.items() if ends <= now]:
            del self.counts[key]


def init_app(app: Flask) -> None:
    """The app's limiter, on the storage RATELIMIT_STORAGE_URI names."""
    storage = storage_from_string(app.config["RATELIMIT_STORAGE_URI"])
    app.extensions[EXTENSION] = FixedWindowRateLimiter(storage)


def limiter() -> FixedWindowRateLimiter:
    return current_app.extensions[EXTENSION]


@cache
def _item(text: str) -> RateLimitItem:
    return parse(text)


def enforce(limit: str, key: str, message: str) -> None:
    """Count one hit against `limit` (e.g. "10 per minute") for `key`; over it, a 429 with
    Retry-After (RFC 6585) saying when the window resets."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    item = _item(limit)
    if not limiter().hit(item, key):
        reset_at, _ = limiter().get_window_stats(item, key)
        raise TooManyRequests(message, retry_after=max(1, int(reset_at - clock()) + 1))


def checkin_limits(view: Callable) -> Callable:
    """Per attendee (CHECKIN_LIMIT); shared by the JSON API and the no-JavaScript form. No
    phone is refused for its address (a venue shares one): what an address produces past its
    allowance is held instead, not counted until trusted (web/api_checkins.py)."""

    @wraps(view)
    def limited(*args, **kwargs):
        token = attendee_token()
        if token:
            enforce(
                current_app.config["CHECKIN_LIMIT"],
                f"checkins/attendee/{token}",
                "Too many check-ins from this phone. Wait a minute, then try again.",
            )
        return view(*args, **kwargs)

    return limited


def story_limits() -> None:
    """An attendee's own stories: per attendee (STORY_LIMIT) and per address (STORY_IP_LIMIT),
    so neither a fresh cookie nor a second phone on the same network lifts the limit."""
    config = current_app.config
    enforce(
        config["STORY_LIMIT"],
        f"stories/attendee/{attendee_token()}",
        "You have sent several stories just now. Wait a minute, then try again.",
    )
    enforce(
        config["STORY_IP_LIMIT"],
        f"stories/ip/{request.remote_addr}",
        "Too many stories from this network right now. Wait a minute, then try again.",
    )


# --- sign-in: growing waits per device and per target, a loose backstop per address -------------
# Wrong PINs and passwords slow the device that sends them (a signed cookie of its own,
# web/identity.py) and the station or name they are for, never an address: a venue's guest wifi
# puts the staff, the organizers and any prankster behind one. Staff PINs count in the database
# (people/staff.py: the Setup page shows and unlocks them); organizers' wrong passwords count
# here, in the rate-limit store, with the same shape of waits (people/organizers.py).


def _seconds(wait: timedelta) -> int:
    return max(1, math.ceil(wait.total_seconds()))


def _waits(backoff: Backoff) -> list[RateLimitItem]:
    """The one-try-per-wait items of every wait `backoff` can ask for."""
    waits = {_seconds(backoff.wait(backoff.free + k)) for k in range(64)}
    return [_item(f"1 per {seconds} second") for seconds in sorted(waits)]


def _failures_item(backoff: Backoff) -> RateLimitItem:
    return _item(f"1000000000 per {_seconds(backoff.memory)} second")


def _failures(backoff: Backoff, key: str) -> int:
    item = _failures_item(backoff)
    return item.amount - limiter().get_window_stats(item, key).remaining


def _take_turn(backoff: Backoff, key: str, message: str) -> None:
    """May one more try go ahead for `key` now? While its failures are free, yes; past them,
    one try per wait: this one takes the turn (so a crowd of parallel tries gets one through),
    the others get 429 with Retry-After saying when the wait ends."""
    wait = backoff.wait(_failures(backoff, key))
    if not wait:
        return
    turn = _item(f"1 per {_seconds(wait)} second")
    if not limiter().hit(turn, key, "turn"):
        reset_at, _ = limiter().get_window_stats(turn, key, "turn")
        retry_after = max(1, math.ceil(reset_at - clock()))
        minutes = max(1, round(retry_after / 60))
        words = f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"
        raise TooManyRequests(message.format(wait=words), retry_after=retry_after)


def _failed(backoff: Backoff, key: str) -> None:
    """One more failure for `key`; past the free ones, the next try waits from now."""
    limiter().hit(_failures_item(backoff), key)
    wait = backoff.wait(_failures(backoff, key))
    if wait:
        turn = _item(f"1 per {_seconds(wait)} second")
        limiter().clear(turn, key, "turn")
        limiter().hit(turn, key, "turn")


def _forget(backoff: Backoff, key: str) -> None:
    limiter().clear(_failures_item(backoff), key)
    for turn in _waits(backoff):
        limiter().clear(turn, key, "turn")


def organizer_sign_in_limits(device_id: str, name: str, known_device: bool) -> None:
    """Before an organizer's password is checked. Every device waits after its own wrong
    passwords. A device where this organizer signed in before is held back by nothing else:
    strangers cannot lock organizers out. Any other device also counts toward
    ADMIN_SIGNIN_LIMIT per address and ADMIN_SIGNIN_TOTAL from everywhere, and waits while the
    name it tries is past its free wrong passwords."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    _take_turn(
        organizers.DEVICE_WAITS,
        f"signin/device/{device_id}",
        "Too many wrong passwords from this device. Try again in about {wait}.",
    )
    if known_device:
        return
    config = current_app.config
    enforce(
        config["ADMIN_SIGNIN_LIMIT"],
        f"signin/ip/{request.remote_addr}",
        "Too many sign-in attempts from new devices on this network. Wait a minute, then try"
        " again; a device you signed in on before is not held back.",
    )
    enforce(
        config["ADMIN_SIGNIN_TOTAL"],
        "signin/all",
        "Too many sign-in attempts right now. Wait a minute, then try again.",
    )
    _take_turn(
        organizers.NAME_WAITS,
        f"signin/name/{organizers.name_tag(name)}",
        "Too many wrong passwords for this name lately. Try again in about {wait},"
        " or from a device you signed in on before.",
    )


def organizer_sign_in_failed(device_id: str, name: str) -> None:
    if current_app.config.get("RATELIMIT_ENABLED", True):
        _failed(organizers.DEVICE_WAITS, f"signin/device/{device_id}")
        _failed(organizers.NAME_WAITS, f"signin/name/{organizers.name_tag(name)}")


def organizer_signed_in(device_id: str) -> None:
    """A right password forgets the device's wrong ones (the name's stay: they may be a
    stranger's)."""
    if current_app.config.get("RATELIMIT_ENABLED", True):
        _forget(organizers.DEVICE_WAITS, f"signin/device/{device_id}")


def staff_sign_in_limits(signed_in_before: bool) -> None:
    """A backstop against floods of new devices, before any PIN is hashed: STAFF_SIGNIN_LIMIT
    PIN attempts a minute per address from devices where nobody ever signed in. A device that
    has (a staff tablet, an organizer's phone) is never counted or refused here; the waits that
    make guessing hopeless are per device and per station (people/staff.py)."""
    if signed_in_before:
        return
    enforce(
        current_app.config["STAFF_SIGNIN_LIMIT"],
        f"staff-signin/ip/{request.remote_addr}",
        "Too many sign-in attempts from new devices on this network. Wait a minute, then try"
        " again; a device that signed in before is not held back.",
    )
