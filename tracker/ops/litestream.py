"""Litestream as a child of the serving process: started, watched, started again, and seen.

With TRACKER_REPLICA set, each serving process runs a Supervisor (a background task, a greenlet
under gevent). Of the processes serving one database file, the one holding the lock file beside
it (`<db>.litestream.lock`, fcntl.flock) runs `litestream replicate` as its child; the others
try the lock each second and take over when that process goes. Each second the holder:

- sees whether Litestream runs; when it has exited, starts it again after a back-off (1 s,
  doubling to BACKOFF_MAX, back to 1 s after STEADY_SECONDS of running), and one that stops
  answering for HUNG_SECONDS is killed and started again; each of these is one JSON line on the
  server's log (stderr);
- asks it how far the replica is, on Litestream's control socket: `GET /list` gives each
  database's `last_sync_at`, when its replica last held every commit Litestream had read (it
  moves each second or two while all is well, idle or not; it stops moving while uploads fail).
  Litestream 0.5's Prometheus endpoint (`addr:`) has no figure for the replica's position, so it
  is not used;
- checkpoints the WAL itself (PASSIVE) while Litestream is not running, or whenever the WAL has
  grown past WAL_LIMIT_BYTES: tracker's connections leave checkpoints to Litestream while
  replicating (tracker/store/db.py), and a WAL nobody replicates helps no one by growing;
- writes what it found to `<db>.litestream.json`, which the other processes' /healthz and
  `flask admin status` read (older than STALE_SECONDS: nobody supervises, the state is "down").

Litestream gets the lock file's descriptor too, and SIGTERM when its parent dies: a new
supervisor can start only once the old Litestream has shipped its last commits and gone.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import http.client
import json
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

from sqlite_utils import Database

from ..contract.responses import Replication, pick
from ..contract.sentences import N_, Sentence
from ..store import db as dbm
from ..store import logs, settings
from . import replication

log = logging.getLogger(__name__)
EXTENSION = "tracker_replication"
CHECK_SECONDS = 1.0  # how often the supervisor looks at Litestream, the WAL and the lock
WATCH_SECONDS = 0.2  # while Litestream is down: how often the WAL is checkpointed if written
STALE_SECONDS = 5.0  # a state file older than this: no process supervises Litestream
START_GRACE_SECONDS = 10.0  # a new Litestream's time to open its control socket
HUNG_SECONDS = 30.0  # a Litestream silent this long is killed and started again
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
STEADY_SECONDS = 60.0  # running this long, it starts again after BACKOFF_FIRST next time
WAL_LIMIT_BYTES = 64 * 1024 * 1024  # past this tracker checkpoints even while Litestream runs
STOP_SECONDS = 3.0  # at shutdown, how long the server waits for Litestream's last shipment
ASK_SECONDS = 2.0  # how long one question on the control socket may take

State = Literal["ok", "degraded", "down"]
STARTING = "Litestream is starting"
NOBODY = "no server process is replicating this database (the server starts Litestream)"


def log_line(event: str, db: Path, level: int = logging.WARNING, **fields: Any) -> None:
    """One event on the server's log (store/logs.py: `replica.<event>`, its fields, the database;
    one JSON object a line with LOG_FORMAT=json)."""
    logs.event(log, f"replica.{event}", level, db=str(db), **fields)


class _UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over Litestream's control socket (a Unix socket)."""

    def __init__(self, path: str, timeout: float):
        super().__init__("litestream", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.unix_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def ask(socket_file: Path, path: str, timeout: float = ASK_SECONDS) -> Any:
    """Litestream's JSON answer to `GET path` on its control socket; OSError when it cannot
    be reached or answers with an error."""
    conn = _UnixHTTPConnection(str(socket_file), timeout)
    try:
        conn.request("GET", path)
        answer = conn.getresponse()
        body = answer.read()
    except http.client.HTTPException as exc:
        raise OSError(f"{type(exc).__name__}: {exc}") from exc
    finally:
        conn.close()
    if answer.status != 200:
        raise OSError(f"Litestream answered {answer.status} to {path}: {body[:200]!r}")
    return json.loads(body)


def parse_time(text: str) -> float:
    """Litestream's RFC 3339 time (nanoseconds, Z) as a Unix time."""
    return datetime.fromisoformat(text).timestamp()


def read_health(db_path: str | Path) -> Replication:
    """What the supervising process last wrote for this database; "down" when none does."""
    try:
        written = json.loads(replication.state_path(db_path).read_text())
        age = time.time() - float(written["written_at"])
        if written.get("stopped"):
            raise ValueError("stopped")
        health = pick(Replication, written)
    except (OSError, ValueError, KeyError, TypeError):
        return Replication(state="down", lag_seconds=None, error=NOBODY, restarts=0)
    if age > STALE_SECONDS:
        return Replication(
            state="down",
            lag_seconds=None,
            error=f"{NOBODY}; the one that did last wrote {age:.0f} s ago",
            restarts=health["restarts"],
        )
    return health


def describe(health: Replication) -> tuple[Sentence, ...]:
    """The state in sentences, for the status page (in the reader's language) and
    `flask admin status` (English: `" ".join(map(str, ...))`)."""
    said = [
        Sentence(N_("Litestream is running."))
        if health["state"] == "ok"
        else Sentence(
            N_("%(state)s: %(error)s."),
            {"state": health["state"].upper(), "error": health["error"]},
        )
    ]
    if health["lag_seconds"] is not None:
        said.append(
            Sentence(
                N_("The replica is %(lag)s s behind."), {"lag": round(health["lag_seconds"], 1)}
            )
        )
    if health["restarts"]:
        said.append(
            Sentence(
                N_("Litestream was started again %(restarts)s times."),
                {"restarts": health["restarts"]},
            )
        )
    return tuple(said)


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """For Popen's preexec_fn on Linux: the child gets SIGTERM when its parent dies (a killed
    server process leaves no Litestream behind; SIGTERM lets it ship its last commits)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    pr_set_pdeathsig = 1

    def child() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the line above
            os._exit(1)

    return child


class Supervisor:
    """The replica's watch for one database, in one serving process (see the module's doc)."""

    def __init__(
        self,
        db_path: str | Path,
        replica_url: str,
        max_lag: float,
        fingerprint: str | None = None,
        check_seconds: float = CHECK_SECONDS,
    ):
        self.db_path = Path(db_path).resolve()
        self.url = replica_url
        self.max_lag = max_lag
        self.fingerprint = fingerprint  # of SECRET_KEY, kept in the database for a restore
        self.check_seconds = check_seconds
        self.started = self.stopping = False
        self.lock_file: IO[str] | None = None
        self.db: Database | None = None  # the supervisor's own connection, for checkpoints
        self.proc: subprocess.Popen[bytes] | None = None
        self.launched = 0  # Litestreams started by this process
        self.backoff = BACKOFF_FIRST
        self.restart_at = 0.0  # monotonic
        self.spawned_at = self.answered_at = 0.0  # monotonic
        self.began = 0.0  # Unix time this process took the lock
        self.synced_at: float | None = None  # Unix time the replica last held every commit
        self.status: str | None = None  # Litestream's word for the database ("replicating")
        self.note: str | None = None  # why Litestream is not running or not answering
        self.checkpoints = 0  # in the current stretch of checkpointing (0: not checkpointing)
        self.largest_wal = 0  # the WAL's largest size seen in that stretch
        self.version: int | None = None  # PRAGMA data_version at the last checkpoint
        self.replicating = False  # Litestream ran and answered at the last look
        self.current: Replication | None = None

    @property
    def holding(self) -> bool:
        return self.lock_file is not None

    @property
    def restarts(self) -> int:
        return max(0, self.launched - 1)

    def health(self) -> Replication:
        """For /healthz: this process's own view when it supervises, else the supervisor's."""
        if self.holding and self.current is not None:
            return self.current
        return read_health(self.db_path)

    def start(self) -> None:
        """Supervise from a background task (in the serving process, a greenlet)."""
        if self.started:
            return
        self.started = True
        atexit.register(self.stop)
        threading.Thread(target=self.run, daemon=True, name="litestream-supervisor").start()

    def run(self) -> None:
        while not self.stopping:
            try:
                self.step()
                # Between looks, while Litestream is down: a checkpoint as soon as anything was
                # committed (a busy day writes megabytes a second), and the next look at once
                # when Litestream exits.
                deadline = time.monotonic() + self.check_seconds
                while time.monotonic() < deadline and not self.stopping:
                    time.sleep(WATCH_SECONDS)
                    if self.proc is not None and self.proc.poll() is not None:
                        break
                    if self.holding and not self.replicating:
                        self._checkpoint_if_written()
            except Exception as exc:  # a full disk, a locked database: the next step tries again
                log_line(
                    "supervisor_error",
                    self.db_path,
                    logging.ERROR,
                    error=f"{type(exc).__name__}: {exc}",
                )
                time.sleep(self.check_seconds)

    def step(self) -> None:
        """One look: take the lock if free, then (holding it) Litestream, the WAL, the state."""
        if not self.holding and not self._take_lock():
            return
        running = self._watch()
        try:
            self._record_fingerprint()
        except sqlite3.Error as exc:  # locked for now: the next step tries again
            log_line("fingerprint_not_recorded", self.db_path, error=str(exc))
        now = time.time()
        behind = now - (self.synced_at if self.synced_at is not None else self.began)
        state: State = "ok" if running else "down"
        error = None if running else self.note or "Litestream is not running"
        if running and self.status != "replicating":
            state, error = "degraded", f"Litestream reports the database {self.status}"
        elif running and behind > self.max_lag:
            state = "degraded"
            error = f"the replica is {behind:.0f} s behind, more than REPLICA_MAX_LAG_SECONDS"
            error += f" ({self.max_lag:g} s)"
        wal = _size(Path(f"{self.db_path}-wal"))
        self.replicating = running
        if not running or wal > WAL_LIMIT_BYTES:
            self._checkpoint(wal)
        elif self.checkpoints:
            log_line(
                "wal_checkpoints_stop",
                self.db_path,
                logging.INFO,
                checkpoints=self.checkpoints,
                largest_wal_bytes=self.largest_wal,
            )
            self.checkpoints = self.largest_wal = 0
        health = Replication(
            state=state, lag_seconds=round(behind, 1), error=error, restarts=self.restarts
        )
        self._publish(health, now, wal)

    def stop(self) -> None:
        """At the server's exit: Litestream gets SIGTERM, ships what it has not yet, and exits;
        the server waits up to STOP_SECONDS for it (it goes on without the server if longer,
        holding the lock until it is done)."""
        self.stopping = True
        proc = self.proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(STOP_SECONDS)
        if self.holding and self.current is not None:
            self._write_state({**self.current, "stopped": True}, time.time(), None)

    # ---- the lock

    def _take_lock(self) -> bool:
        path = replication.lock_path(self.db_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = path.open("a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # another process (or its Litestream) holds it
            lock.close()
            return False
        self.lock_file = lock
        self.began = time.time()
        with contextlib.suppress(OSError, ValueError, TypeError):
            previous = json.loads(replication.state_path(self.db_path).read_text())
            self.synced_at = float(previous["synced_at"])
        log_line("supervising", self.db_path, logging.INFO, pid=os.getpid())
        return True

    def _record_fingerprint(self) -> None:
        """Keep SECRET_KEY's fingerprint in the database (so in the replica): a restore checks
        the key it is given against it (replication.check_secret_key)."""
        if self.fingerprint:
            db = self._db()
            with dbm.write(db):
                settings.put(db, replication.FINGERPRINT_SETTING, self.fingerprint)
            self.fingerprint = None

    def _db(self) -> Database:
        if self.db is None:
            self.db = dbm.connect(self.db_path)
        return self.db

    # ---- Litestream

    def _watch(self) -> bool:
        """Whether Litestream runs and answered just now; starts it again when it is due."""
        mono = time.monotonic()
        proc = self.proc
        if proc is not None and proc.poll() is not None:
            self.proc = None
            ran = mono - self.spawned_at
            self._schedule(mono, ran)
            self.note = (
                f"Litestream exited ({_exit(proc.returncode)}) after {ran:.0f} s; starting it"
                f" again in {self.restart_at - mono:.0f} s"
            )
            log_line(
                "litestream_exited",
                self.db_path,
                exit_code=proc.returncode,  # negative: killed by that signal
                ran_seconds=round(ran, 1),
                restart_in_seconds=round(self.restart_at - mono, 1),
                restarts=self.restarts,
            )
        if self.proc is None:
            if not self.stopping and mono >= self.restart_at:
                self._spawn(mono)
            return False
        try:
            listed = ask(replication.socket_path(self.db_path), "/list")
        except (OSError, ValueError) as exc:
            silent = mono - max(self.spawned_at, self.answered_at)
            if silent > HUNG_SECONDS:
                self.note = f"Litestream did not answer for {silent:.0f} s: killed"
                log_line("litestream_hung", self.db_path, silent_seconds=round(silent, 1))
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
            elif self.answered_at < self.spawned_at and silent < START_GRACE_SECONDS:
                self.note = STARTING
            else:
                self.note = f"Litestream does not answer on its control socket ({exc})"
            return False
        self.answered_at = mono
        mine = [d for d in listed.get("databases", []) if d.get("path") == str(self.db_path)]
        self.status = str(mine[0].get("status")) if mine else "not listed"
        last = mine[0].get("last_sync_at") if mine else None
        if last:
            synced = parse_time(last)
            self.synced_at = synced if self.synced_at is None else max(self.synced_at, synced)
        self.note = None
        return True

    def _schedule(self, mono: float, ran: float) -> None:
        if ran >= STEADY_SECONDS:
            self.backoff = BACKOFF_FIRST
        self.restart_at = mono + self.backoff
        self.backoff = min(self.backoff * 2, BACKOFF_MAX)

    def _spawn(self, mono: float) -> None:
        assert self.lock_file is not None
        try:
            argv = replication.replicate_argv(self.db_path, self.url)
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                pass_fds=(self.lock_file.fileno(),),  # it holds the lock until it is gone
                start_new_session=True,  # a Ctrl+C reaches the server, which stops it
                preexec_fn=_die_with_parent(os.getpid()),
            )
        except (OSError, replication.ReplicaError) as exc:
            self._schedule(mono, 0.0)
            self.note = f"cannot start Litestream: {exc}"
            log_line("litestream_not_started", self.db_path, error=str(exc))
            return
        self.spawned_at = mono
        self.launched += 1
        self.status = None
        self.note = STARTING
        pid, restarts = self.proc.pid, self.restarts
        log_line("litestream_started", self.db_path, logging.INFO, pid=pid, restarts=restarts)

    # ---- the WAL and the state

    def _checkpoint_if_written(self) -> None:
        """A checkpoint when anything was committed since the last one (`data_version` moves
        with every other connection's commit)."""
        version = self._db().execute("PRAGMA data_version").fetchone()[0]
        if version != self.version:
            self._checkpoint(_size(Path(f"{self.db_path}-wal")))

    def _checkpoint(self, wal: int) -> None:
        db = self._db()
        busy, frames, copied = dbm.checkpoint(db)
        self.version = db.execute("PRAGMA data_version").fetchone()[0]
        self.largest_wal = max(self.largest_wal, wal)
        if not self.checkpoints:
            log_line(
                "wal_checkpoints_start",
                self.db_path,
                wal_bytes=wal,
                reason=f"the WAL is past {WAL_LIMIT_BYTES} bytes"
                if wal > WAL_LIMIT_BYTES
                else self.note or "Litestream is not running",
                busy=busy,
                frames=frames,
                copied=copied,
            )
        self.checkpoints += 1

    def _publish(self, health: Replication, now: float, wal: int) -> None:
        before = self.current
        self.current = health
        if before is None or before["state"] != health["state"]:
            log_line(
                "replication_state",
                self.db_path,
                logging.INFO if health["state"] == "ok" else logging.WARNING,
                state=health["state"],
                was=None if before is None else before["state"],
                lag_seconds=health["lag_seconds"],
                error=health["error"],
            )
        self._write_state(dict(health), now, wal)

    def _write_state(self, record: dict[str, Any], now: float, wal: int | None) -> None:
        path = replication.state_path(self.db_path)
        record |= {
            "written_at": now,
            "synced_at": self.synced_at,
            "supervisor_pid": os.getpid(),
            "litestream_pid": None if self.proc is None else self.proc.pid,
            "wal_bytes": wal,
        }
        staged = path.with_name(f"{path.name}.{os.getpid()}")
        staged.write_text(json.dumps(record))
        staged.replace(path)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _exit(code: int | None) -> str:
    if code is not None and code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"
