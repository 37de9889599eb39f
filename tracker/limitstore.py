"""An in-memory rate-limit store without timer threads, for the check-in hot path.

limits' MemoryStorage starts a fresh 10 ms threading.Timer on a hit whenever the last one has
finished, and waits for it to start: under load a good share of requests pay a thread start and a
GIL hand-off, and each timer scans every key. This store expires keys inline instead: a key's
expiry is checked when it is read (as the parent does), and stale keys are swept at most once a
second by whichever hit comes along. Select it with RATELIMIT_STORAGE_URI=tracker-memory://.
"""

from __future__ import annotations

import time

from limits.storage import MemoryStorage

SWEEP_SECONDS = 1.0


class ThreadlessMemoryStorage(MemoryStorage):
    STORAGE_SCHEME = ["tracker-memory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.timer.cancel()  # the one the parent starts; no other is ever started
        self._next_sweep = time.monotonic() + SWEEP_SECONDS

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces the parent's thread start
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_SECONDS
            self._MemoryStorage__expire_events()
