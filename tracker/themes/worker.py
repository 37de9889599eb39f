"""The themes' background task: a child process of the server that runs a pass (engine.py)
within THEMES_POLL_SECONDS of any commit, so reading and grouping stories (seconds of CPU for
thousands of them) never runs in a request nor on the serving loop's core.

One per database file: each server process starts one, and the child that holds the lock beside
the database (`<db>.themes.lock`) works while the others wait for it. A child ends when its
server does (it watches its parent). Central only: a location node starts none, and its
triggers queue nothing.
"""

from __future__ import annotations

import fcntl
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from ..store import db as dbm
from . import engine

log = logging.getLogger(__name__)
EXTENSION = "tracker_themes"
NICENESS = 10
RESTART_SECONDS = 10


class Worker:
    """The child process of one server process (started once, like the alerts' outbox)."""

    def __init__(self, config: Mapping[str, Any]):
        self.database = str(config["DATABASE"])
        self.poll = float(config.get("THEMES_POLL_SECONDS") or 2)
        self.process: subprocess.Popen[bytes] | None = None
        self.stopped = False

    def start(self) -> None:
        """Start the child, and a watch that starts it again if it ever exits (a crash on
        start, killed by someone): every RESTART_SECONDS at most. In the serving process
        (gevent) the watch is a greenlet."""
        if self.process is not None or self.database == ":memory:":
            return
        self._spawn()
        threading.Thread(target=self._watch, daemon=True).start()

    def _spawn(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tracker.themes.worker",
                self.database,
                str(self.poll),
                str(os.getpid()),
            ]
        )

    def stop(self) -> None:
        """End the child and its watch (tests; a server's child ends with the server)."""
        self.stopped = True
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def _watch(self) -> None:
        while not self.stopped:
            time.sleep(RESTART_SECONDS)
            if self.stopped:
                return
            if self.process is not None and self.process.poll() is not None:
                log.warning(
                    "themes: the task exited (%s); starting it again", self.process.returncode
                )
                self._spawn()


def _locked(path: str, parent: int) -> IO[str] | None:
    """The lock file held, waiting while another child holds it; None if the parent died."""
    handle = open(Path(path).with_name(Path(path).name + ".themes.lock"), "w")  # noqa: SIM115
    while os.getppid() == parent:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            time.sleep(1)
    handle.close()
    return None


def run(path: str, poll: float, parent: int) -> None:
    """Pass after pass while the parent lives: a pass whenever the database moved since the
    last (PRAGMA data_version moves with every other connection's commit)."""
    lock = _locked(path, parent)  # held (referenced) for as long as this task runs
    if lock is None:
        return
    # Below the server in the CPU's queue: on a busy machine, requests first, themes after.
    os.nice(NICENESS)
    db = dbm.connect(path)
    seen = None
    while os.getppid() == parent:
        version = db.execute("PRAGMA data_version").fetchone()[0]
        if version != seen:
            seen = version
            try:
                done = engine.refresh(db)
                if done.read or done.placed:
                    log.info(
                        "themes: %d read, %d placed, %d new themes in %.2f s",
                        done.read, done.placed, len(done.new_themes), done.seconds,
                    )  # fmt: skip
            except Exception:  # a locked database, a bad row: the next poll tries again
                log.exception("themes: a pass failed")
        time.sleep(poll)


if __name__ == "__main__":  # pragma: no cover - started by Worker.start
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # The parent's pid as it was when it started this child: a child whose server died while
    # it was starting has another parent already, and ends at once instead of living on.
    run(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]))
