"""The themes' background task as the server runs it: a child process that themes new stories
within seconds, nobody asking, and one per database file."""

from __future__ import annotations

import pytest

from tracker.themes import worker

from .helpers import wait_until
from .test_themes import COFFEE, WIFI, _small_event_stories

pytestmark = pytest.mark.live


def test_the_task_themes_new_stories_within_seconds(db, db_path, event):
    task = worker.Worker({"DATABASE": str(db_path), "THEMES_POLL_SECONDS": 0.2})
    second = worker.Worker({"DATABASE": str(db_path), "THEMES_POLL_SECONDS": 0.2})
    task.start()
    second.start()  # another server process on the same file: its child waits for the lock
    try:
        _small_event_stories(db, event, WIFI)

        def themed() -> int:
            return int(
                db.execute(
                    "SELECT count(*) FROM theme_stories WHERE theme_id IS NOT NULL"
                ).fetchone()[0]
            )

        wait_until(lambda: themed() == 4, timeout=60, what="the wifi stories themed")
        _small_event_stories(db, event, COFFEE)
        wait_until(lambda: themed() == 7, timeout=60, what="the coffee stories themed")
        labels = [r[0] for r in db.execute("SELECT label FROM themes")]
        assert len(labels) == 2, labels
        assert second.process is not None, "the second task never started"
        assert second.process.poll() is None, second.process.returncode  # waiting, alive
    finally:
        task.stop()
        second.stop()


def test_a_child_whose_server_is_gone_ends_at_once(db_path, db):
    """Started for a server that died while it started (its parent is another already)."""
    import subprocess
    import sys

    child = subprocess.Popen(
        [sys.executable, "-m", "tracker.themes.worker", str(db_path), "0.2", "1"]
    )
    try:
        assert child.wait(timeout=60) == 0
    finally:
        if child.poll() is None:
            child.kill()
