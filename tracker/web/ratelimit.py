"""Rate limits: a whole venue may share one address behind NAT, so most limits key on the
person (the attendee's cookie) and the address limits are loose.

The `limits` library counts (its public API: a storage from RATELIMIT_STORAGE_URI, in the
process by default or redis:// to share counts between processes, and the fixed-window
strategy); each route names its limits in code, so nothing runs before requests that have none.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import cache, wraps

from flask import Flask, current_app, request
from limits import RateLimitItem, parse
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

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


def sign_in_limits(known_device: bool = False) -> None:
    """Organizer sign-in attempts: ADMIN_SIGNIN_LIMIT per address, whatever cookie it sends,
    and ADMIN_SIGNIN_TOTAL from everywhere, so many addresses cannot guess faster either. A
    device where that organizer signed in before skips the overall limit (a device cookie, as
    OWASP suggests against lockout attacks): strangers exhausting it cannot lock them out."""
    config = current_app.config
    enforce(
        config["ADMIN_SIGNIN_LIMIT"],
        f"signin/ip/{request.remote_addr}",
        "Too many sign-in attempts from this network. Wait a minute, then try again.",
    )
    if not known_device:
        enforce(
            config["ADMIN_SIGNIN_TOTAL"],
            "signin/all",
            "Too many sign-in attempts right now. Wait a minute, then try again.",
        )


def staff_sign_in_limits() -> None:
    """Staff PIN attempts per address, across every station (STAFF_SIGNIN_LIMIT): the lockout
    counts wrong PINs per station, and this keeps one address from queueing hundreds of PIN
    checks at once (each is a slow hash) and holding up everyone's sign-in."""
    enforce(
        current_app.config["STAFF_SIGNIN_LIMIT"],
        f"staff-signin/ip/{request.remote_addr}",
        "Too many sign-in attempts from this network. Wait a minute, then try again.",
    )
