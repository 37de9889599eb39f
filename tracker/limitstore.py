"""An in-memory rate-limit store without timer threads, for the check-in hot path.

limits' MemoryStorage starts a fresh 10 ms threading.Timer on a hit whenever the last one has
finished, and waits for it to start: under load a good share of requests pay a thread start and a
GIL hand-off, and each timer scans every key. This store expires keys inline instead: a key's
expiry is checked when it is read (as the parent does), and stale keys are swept at most once a
second by whichever hit comes along. A fixed-window hit (every limit tracker sets) takes one
lock for the whole store instead of a lock object made per key and window. Select it with
RATELIMIT_STORAGE_URI=tracker-memory://.
"""

from __future__ import annotations

import threading
import time

from limits.storage import MemoryStorage

from .db import os_thread_primitive

SWEEP_SECONDS = 1.0


class ThreadlessMemoryStorage(MemoryStorage):
    STORAGE_SCHEME = ["tracker-memory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.timer.cancel()  # the one the parent starts; no other is ever started
        self._next_sweep = time.monotonic() + SWEEP_SECONDS
        # An OS lock even under gevent: nothing inside it can yield, so it is never contended
        # across greenlets, and it costs a fraction of a patched lock.
        self._counters_lock = os_thread_primitive("allocate_lock", threading.Lock)()

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """The parent's fixed-window count, in one critical section (expired counts restart)."""
        now = time.time()
        with self._counters_lock:
            self._MemoryStorage__schedule_expiry()
            if self.expirations.get(key, 0) <= now:
                self.storage.pop(key, None)
                self.expirations[key] = now + expiry
            value = self.storage[key] = self.storage.get(key, 0) + amount
        return value

    def get(self, key: str) -> int:
        with self._counters_lock:
            return super().get(key)

    def clear(self, key: str) -> None:
        with self._counters_lock:
            super().clear(key)

    def reset(self) -> int | None:
        with self._counters_lock:
            return super().reset()

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces the parent's thread start
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_SECONDS
            self._MemoryStorage__expire_events()
