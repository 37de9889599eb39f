"""The in-memory rate-limit store behind every limit: counts per key, and a window that ends."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from limits import parse
from limits.strategies import FixedWindowRateLimiter

from tracker.limitstore import ThreadlessMemoryStorage


def test_a_key_is_refused_past_its_limit_and_counted_afresh_in_the_next_window(monkeypatch):
    clock = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    strategy = FixedWindowRateLimiter(ThreadlessMemoryStorage("tracker-memory://"))
    two_a_minute = parse("2 per minute")

    assert strategy.hit(two_a_minute, "phone-a") and strategy.hit(two_a_minute, "phone-a")
    assert not strategy.hit(two_a_minute, "phone-a")
    assert strategy.hit(two_a_minute, "phone-b")  # another key has its own count
    reset_at, remaining = strategy.get_window_stats(two_a_minute, "phone-a")
    assert (reset_at, remaining) == (clock[0] + 60, 0)

    clock[0] += 59.9
    assert not strategy.hit(two_a_minute, "phone-a")
    clock[0] += 0.2  # the minute that began with the first hit is over
    assert strategy.hit(two_a_minute, "phone-a")
    assert strategy.get_window_stats(two_a_minute, "phone-a")[1] == 1


def test_expired_counts_are_swept_without_a_timer_thread(monkeypatch):
    clock = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    storage = ThreadlessMemoryStorage("tracker-memory://")
    storage.timer.join()  # the parent's, cancelled at once
    threads = threading.active_count()
    for n in range(100):
        storage.incr(f"phone-{n}", 60)
    clock[0] += 61
    storage._next_sweep = 0  # the sweep is due: the next hit makes it
    storage.incr("late-phone", 60)
    assert set(storage.storage) == {"late-phone"} and set(storage.expirations) == {"late-phone"}
    assert threading.active_count() == threads


def test_hits_from_many_threads_are_each_counted_once():
    storage = ThreadlessMemoryStorage("tracker-memory://")
    seen: list[list[int]] = [[] for _ in range(8)]

    def hammer(n: int) -> None:
        for _ in range(2000):
            seen[n].append(storage.incr("one-venue-ip", 60))

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts = sorted(c for each in seen for c in each)
    assert counts == list(range(1, 16001)) and storage.get("one-venue-ip") == 16000


def test_the_documented_shared_store_can_be_configured(tmp_path):
    """README, scaling out: RATELIMIT_STORAGE_URI=redis://… must start (its client is installed;
    it connects on the first hit). In a process of its own: the limiter is module-wide."""
    script = (
        "from tracker import create_app, limiter;"
        f"create_app({{'DATABASE': {str(tmp_path / 't.db')!r}, 'SECRET_KEY': 'x',"
        " 'RATELIMIT_STORAGE_URI': 'redis://127.0.0.1:6399'});"
        "print(type(limiter.storage).__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "RedisStorage"
