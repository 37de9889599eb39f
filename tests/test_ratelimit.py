"""Rate limits through the `limits` library's public API: counts, windows and storages."""

from __future__ import annotations

import threading

from tracker import create_app
from tracker.store import db as dbm
from tracker.web import ratelimit


def app_with(db_path, **config):
    return create_app(
        {"DATABASE": str(db_path), "SECRET_KEY": "x", "RATELIMIT_ENABLED": True, **config}
    )


def test_limits_count_per_key_and_refuse_past_the_limit_with_retry_after(db_path, event):
    app = app_with(db_path)
    with app.test_request_context():
        for _ in range(3):
            ratelimit.enforce("3 per minute", "k1", "slow down")
        try:
            ratelimit.enforce("3 per minute", "k1", "slow down")
        except Exception as exc:  # werkzeug's TooManyRequests
            assert exc.code == 429 and dict(exc.get_headers())["Retry-After"].isdigit()
        else:
            raise AssertionError("the fourth hit was not refused")
        ratelimit.enforce("3 per minute", "k2", "slow down")  # another key: its own count
    dbm.close_thread_dbs()


def test_counts_are_exact_under_threads(db_path, event):
    app = app_with(db_path)
    strategy = app.extensions[ratelimit.EXTENSION]
    item = ratelimit._item("100000 per hour")

    def hit():
        for _ in range(2000):
            strategy.hit(item, "shared")

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert strategy.get_window_stats(item, "shared")[1] == 100000 - 16000
    dbm.close_thread_dbs()


def test_the_documented_redis_store_starts(db_path, event):
    """README, scaling out: RATELIMIT_STORAGE_URI=redis://… (its client is pinned; it connects
    on the first hit)."""
    app = app_with(db_path, RATELIMIT_STORAGE_URI="redis://127.0.0.1:6399")
    assert type(app.extensions[ratelimit.EXTENSION].storage).__name__ == "RedisStorage"
    dbm.close_thread_dbs()


def test_the_in_process_store_is_the_default_and_windows_restart(db_path, event, monkeypatch):
    app = app_with(db_path)
    strategy = app.extensions[ratelimit.EXTENSION]
    assert isinstance(strategy.storage, ratelimit.FixedWindowMemory)
    item = ratelimit._item("2 per second")
    assert strategy.hit(item, "k") and strategy.hit(item, "k") and not strategy.hit(item, "k")
    later = ratelimit.clock() + 2
    monkeypatch.setattr(ratelimit, "clock", lambda: later)
    assert strategy.hit(item, "k")  # a new window
    dbm.close_thread_dbs()
