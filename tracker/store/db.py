"""The one place that knows how tracker talks to SQLite: connections, pragmas, schema, migrations."""

from __future__ import annotations

import itertools
import os
import sqlite3
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar, cast

from sqlite_utils import Database

from .migrations import MIGRATIONS

T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000  # how long a write waits for another process's write lock, in all
# Under gevent one process serves everyone on one OS thread, and SQLite's busy handler sleeps
# in C: so the serving connection waits at most this long inside SQLite, and `write` retries
# BEGIN with cooperative sleeps (the other requests go on) until BUSY_TIMEOUT_MS has passed.
GEVENT_BUSY_TIMEOUT_MS = 2

SCHEMA_VERSION = len(MIGRATIONS)

# A row keyed by column name (rows() and one() make them), or a record built from rows.
Row = dict[str, Any]

_local: threading.local | None = None
_connections: weakref.WeakKeyDictionary[Database, _Connection] = weakref.WeakKeyDictionary()
_files: dict[str, _File] = {}
_files_guard = threading.Lock()
_memory_names = itertools.count(1)


class SchemaTooNew(RuntimeError):
    """The database was written by a newer tracker; refusing to run older code against it."""


def utcnow() -> str:
    """UTC ISO-8601 with milliseconds and a Z: sorts as text, reads as time."""
    return iso(datetime.now(UTC))


def iso(moment: datetime) -> str:
    """A datetime as tracker stores time: UTC, milliseconds, Z (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def one(cur: sqlite3.Cursor) -> Row | None:
    """The row a cursor returns (stepped to its end, as RETURNING needs) as a dict, or None."""
    found = rows(cur)
    return found[0] if found else None


def like_anywhere(text: str) -> str:
    """A LIKE pattern (with ESCAPE '\\') finding `text` anywhere, its own %, _ and \\ taken
    literally: every search box's one pattern."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def page_count(total: int, page_size: int) -> int:
    """How many pages `total` rows fill, at least one (an empty list is one empty page)."""
    return max(1, -(-total // page_size))


def rows(cur: sqlite3.Cursor) -> list[Row]:
    """Every row a cursor returns, each as a dict keyed by column name: the one way tracker
    turns rows into dicts."""
    keys = [c[0] for c in cur.description]
    return [dict(zip(keys, row, strict=True)) for row in cur.fetchall()]


def _use_wal(db: Database) -> None:
    """Put the file in WAL mode, once: WAL is a property of the file, and asking again on every
    connection contends for a lock with whoever is writing (a start's migration, for one).

    SQLite may answer the switch "database is locked" at once, without its busy handler (its
    documentation of sqlite3_busy_handler: where waiting could deadlock, it does not wait): six
    connections opening a new file together lost one that way on a loaded machine
    (tests/test_db.py). So the switch waits here as a write waits, up to BUSY_TIMEOUT_MS, and
    usually finds the file switched by the connection that held it."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            db.enable_wal()  # a file that cannot be WAL (in memory) keeps its mode: no error
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def connect(path: str | Path, synchronous: str = "NORMAL") -> Database:
    """Open a connection with the pragmas every tracker connection needs."""
    uri = str(path).startswith("file:")  # e.g. "file:/path/tracker.db?mode=ro"
    if str(path) != ":memory:" and not uri:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    busy_ms = GEVENT_BUSY_TIMEOUT_MS if gevent_monkey() else BUSY_TIMEOUT_MS
    conn = sqlite3.connect(str(path), timeout=busy_ms / 1000, uri=uri)
    db = Database(conn, execute_plugins=False)
    conn.execute(f"PRAGMA busy_timeout = {busy_ms}")
    conn.execute("PRAGMA foreign_keys = ON")
    writable = str(path) != ":memory:" and "mode=ro" not in str(path)
    if writable:
        _use_wal(db)
    if writable:
        # SQLite opens a file it cannot write read-only, silently: note it (thread_db).
        file = path_of(db)
        state_of(db).opened_read_only = os.path.exists(file) and not os.access(file, os.W_OK)
    if os.environ.get("TRACKER_REPLICA"):
        # Litestream replicates this file (tracker/replica.py) and must be the only one to
        # checkpoint: its long read transaction keeps others from checkpointing past what it has
        # read, but between its own checkpoints a busy writer's automatic checkpoint can slip in
        # and move the WAL on unseen, which costs Litestream a full snapshot. Litestream's "Tips
        # & Caveats" say so; it checkpoints itself (PASSIVE past 1,000 pages and each minute).
        conn.execute("PRAGMA wal_autocheckpoint = 0")
    # WAL + NORMAL survives a process crash (the commit is in the OS before we answer);
    # a power loss may drop the last commits since a checkpoint. FULL fsyncs each commit.
    if synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise ValueError(f"synchronous must be NORMAL or FULL, not {synchronous!r}")
    conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
    return db


def _thread_local() -> threading.local:
    """Per OS thread. Under gevent the greenlets of a thread share it, and so its connections:
    a SQLite call never yields, so two greenlets never interleave inside one transaction, and
    one connection keeps its page cache, which every commit through another connection empties.
    """
    global _local
    if _local is None:
        _local = os_thread_primitive("_local", threading.local)()
    return _local


def gevent_monkey() -> ModuleType | None:
    """gevent's monkey module when it has patched threading (the server), else None."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey if monkey is not None and monkey.is_module_patched("threading") else None


def cooperate() -> None:
    """Under gevent, let the other requests run before going on: long work that streams (an
    export) calls this between batches so it never holds the loop for long. A timed sleep, not
    sleep(0): only a turn of the loop polls the sockets of requests waiting to be read."""
    if gevent_monkey():
        sys.modules["gevent"].sleep(0.001)


def os_thread_primitive(name: str, fallback: Callable[[], Any]) -> Any:
    """`_thread.<name>` as the OS provides it, even where gevent has patched it, else `fallback`:
    for state and locks that nothing holding them can yield inside."""
    monkey = gevent_monkey()
    return monkey.get_original("_thread", name) if monkey else fallback


# SQLite's primary result code after which a connection is not used again: a file it cannot open
# (https://www.sqlite.org/rescode.html). The next use opens a new one, which works as soon as the
# file is back: a worker recovers by itself, without a restart.
BROKEN_CODES = frozenset({14})


def is_broken(exc: BaseException) -> bool:
    """Whether `exc` says its connection should be replaced (BROKEN_CODES)."""
    if isinstance(exc, FileGone):
        return True
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and (code & 0xFF) in BROKEN_CODES


def thread_db(path: str | Path, synchronous: str = "NORMAL") -> Database:
    """One connection per thread and database path, reused across requests on that thread.

    A connection is replaced here by a new one that opens the file without creating it when it
    met a broken error (`is_broken`: a database whose files went missing answers "unable to
    open", 503, until they are back, instead of starting an empty database in their place), or
    when SQLite opened it read-only because its file could not be written then and the file can
    be written now (a worker started while the disk was read-only serves again by itself). The
    old connection is closed first: SQLite shares one view of a file's shared memory among the
    connections of a process, and one opened read-only keeps every new one read-only."""
    cache: dict[tuple[str, str], Database] = _thread_local().__dict__.setdefault("dbs", {})
    key = (str(path), synchronous)
    db = cache.get(key)
    reopen: set[tuple[str, str]] = _thread_local().__dict__.setdefault("reopen", set())
    if db is not None and (state_of(db).broken or _writable_again(db)):
        del cache[key]
        db.close()
        db = None
        reopen.add(key)
    if db is None:
        db = connect(_existing(path) if key in reopen else path, synchronous)
        cache[key] = db
        reopen.discard(key)
    return db


def _writable_again(db: Database) -> bool:
    """Whether SQLite opened this connection read-only (its file was not writable) and the file
    can be written now: one access(2) per use, only for such a connection."""
    state = state_of(db)
    return state.opened_read_only and os.access(path_of(db), os.W_OK)


def _existing(path: str | Path) -> str:
    """An SQLite URI that opens `path` for reading and writing but never creates it."""
    if str(path).startswith("file:") or str(path) == ":memory:":
        return str(path)
    return Path(path).resolve().as_uri() + "?mode=rw"


def forget_if_broken(exc: BaseException) -> None:
    """After a broken error met outside `write` (a read): replace this thread's connections."""
    if is_broken(exc):
        for db in _thread_local().__dict__.get("dbs", {}).values():
            state_of(db).broken = True


def close_thread_dbs() -> None:
    """Close this thread's connections (tests and shutdown)."""
    for db in _thread_local().__dict__.pop("dbs", {}).values():
        db.close()


@contextmanager
def write(db: Database) -> Iterator[Database]:
    """One write, one transaction; BEGIN IMMEDIATE takes the write lock before the first read.

    A deferred transaction that reads and then writes fails at once with "database is locked"
    when another connection wrote in between; IMMEDIATE waits for busy_timeout instead.
    """
    if db.conn.in_transaction:
        _check_owner(db)
        with db.atomic():  # nested: a savepoint inside the caller's transaction
            yield db
        return
    # Writers of this process queue on a lock rather than on SQLite's busy handler, which
    # sleeps in growing steps (up to 100 ms) and turns a burst into a long tail. Other
    # processes still meet busy_timeout.
    try:
        with _file_of(db).lock:
            _check_file(db)
            _begin_immediate(db)
            state_of(db).owner = _current_task()
            thread = _os_thread_id()
            _writing[thread] = time.monotonic()
            try:
                try:
                    yield db
                except BaseException:
                    if db.conn.in_transaction:
                        db.conn.execute("ROLLBACK")
                    raise
                db.conn.execute("COMMIT")
            finally:
                _writing.pop(thread, None)
    except sqlite3.Error as exc:
        if is_broken(exc):
            state_of(db).broken = True
        raise


# OS thread -> when its write transaction began (time.monotonic()), while one is open: the
# stall responder (tracker/ops/stall.py) answers for the serving loop only while the loop's own
# thread is inside a write, i.e. waiting on the disk, never because the machine is merely busy.
_writing: dict[int, float] = {}


def _os_thread_id() -> int:
    return int(os_thread_primitive("get_ident", threading.get_ident)())


def writing_since(thread: int) -> float | None:
    """When the write transaction open on OS thread `thread` began, or None."""
    return _writing.get(thread)


class FileGone(sqlite3.OperationalError):
    """The database file this connection opened is no longer at its path (deleted, moved or
    replaced): SQLite in WAL mode would go on writing to the old file, and every write since
    would be lost with it, so none is taken until the file is back (503, and a new connection)."""


def _check_file(db: Database) -> None:
    """Raise FileGone unless the file at the connection's path is the one it opened (the same
    device and inode); one stat per transaction (a group commit is one)."""
    state = state_of(db)
    path = path_of(db)
    if path.startswith("memory:"):
        return
    try:
        found = os.stat(path)
    except OSError:
        found = None
    identity = (found.st_dev, found.st_ino) if found else None
    if state.identity is None:
        state.identity = identity
    if identity is None or identity != state.identity:
        state.broken = True
        raise FileGone(f"the database file {path} was moved or deleted while open")


def _begin_immediate(db: Database) -> None:
    """BEGIN IMMEDIATE; while another process holds the write lock, wait for it in short
    cooperative sleeps (under gevent the loop serves the others meanwhile), up to
    BUSY_TIMEOUT_MS in all, then raise sqlite3.OperationalError ("database is locked")."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.001
    while True:
        try:
            db.conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() >= deadline:
                raise
        time.sleep(pause)  # gevent's sleep in the server: other requests run
        pause = min(pause * 2, 0.02)


def _current_task() -> object:
    """The greenlet under gevent (they share a connection), else the thread."""
    greenlet = sys.modules.get("greenlet")
    return greenlet.getcurrent() if greenlet is not None else threading.get_ident()


def _check_owner(db: Database) -> None:
    """A transaction must never span a yield to the gevent hub: another greenlet would join it
    on the shared connection, and its rollback would undo writes already answered."""
    if state_of(db).owner != _current_task():
        raise RuntimeError("a write joined a transaction that another task left open")


class _Connection:
    """What tracker keeps about one connection (sqlite-utils' Database carries none of it): its
    file's name, what its process shares for that file, and who opened its write transaction."""

    __slots__ = ("path", "file", "owner", "broken", "identity", "opened_read_only")

    def __init__(self) -> None:
        self.path: str | None = None
        self.file: _File | None = None
        self.owner: object = None
        self.broken = False  # met an error after which it is not used again (BROKEN_CODES)
        self.identity: tuple[int, int] | None = None  # the file's (device, inode) at first write
        self.opened_read_only = False  # its file could not be written when it was opened


def state_of(db: Database) -> _Connection:
    """Tracker's own state for this connection, made on first use and gone with the Database."""
    state = _connections.get(db)
    if state is None:
        state = _connections.setdefault(db, _Connection())
    return state


def path_of(db: Database) -> str:
    """The database file of this connection (a private name for an in-memory one)."""
    state = state_of(db)
    if state.path is None:
        found = db.execute("PRAGMA database_list").fetchone()[2]
        state.path = found or f"memory:{next(_memory_names)}"
    return state.path


class _File:
    """What the connections of this process to one database file share: the lock its writers
    queue on, and its group commit."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.group = _GroupCommit()


def _file_of(db: Database) -> _File:
    state = state_of(db)
    if state.file is None:
        path = path_of(db)
        with _files_guard:
            state.file = _files.setdefault(path, _File())
    return state.file


class _Pending:
    """One write waiting for a shared transaction, and what became of it."""

    __slots__ = ("work", "value", "error")

    def __init__(self, work: Callable[[Database], object]):
        self.work = work
        self.value: object = None
        self.error: BaseException | None = None

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


class _GroupCommit:
    """Writers of one database file in this process, committed together (group commit).

    The first writer leads: it commits what has queued, and again until nothing is left; the
    others wait for the batch they joined to be committed.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.waiting: list[_Pending] = []
        self.committed = threading.Event()  # set when the batch of `waiting` is committed
        self.leading = False

    def run(self, db: Database, work: Callable[[Database], T]) -> T:
        pending = _Pending(work)
        with self.lock:
            self.waiting.append(pending)
            committed, follow = self.committed, self.leading
            self.leading = True
        if follow:
            committed.wait()
            return cast(T, pending.outcome())
        try:
            _let_ready_writers_queue()
            while True:
                with self.lock:
                    batch, self.waiting = self.waiting, []
                    committed, self.committed = self.committed, threading.Event()
                    if not batch:
                        self.leading = False
                        break
                try:
                    _commit_together(db, batch)
                finally:
                    committed.set()
        except BaseException:  # stopped while leading: nobody may be left waiting
            with self.lock:
                stranded, self.waiting = self.waiting, []
                committed, self.committed = self.committed, threading.Event()
                self.leading = False
            for item in stranded:
                item.error = RuntimeError("the write was interrupted before it was stored")
            committed.set()
            raise
        return cast(T, pending.outcome())


def _let_ready_writers_queue() -> None:
    """Under gevent, requests that are ready to run reach the queue only if the leader yields
    once; threads queue while the leader waits for the lock, and need no yield."""
    if gevent_monkey():
        sys.modules["gevent"].sleep(0)


def _commit_together(db: Database, batch: list[_Pending]) -> None:
    """One transaction, a savepoint per write: one that raises is undone alone."""
    if len(batch) == 1:  # alone: its own transaction is its savepoint
        item = batch[0]
        try:
            with write(db):
                item.value = item.work(db)
        except BaseException as exc:
            item.error = exc
            if not isinstance(exc, Exception):
                raise
        return
    try:
        with write(db):
            for item in batch:
                db.conn.execute("SAVEPOINT one_write")
                try:
                    item.value = item.work(db)
                except Exception as exc:
                    item.error = exc
                    if not db.conn.in_transaction:  # SQLite gave up the whole transaction
                        raise
                    db.conn.execute("ROLLBACK TO one_write")
                db.conn.execute("RELEASE one_write")
    except BaseException as exc:  # BEGIN or COMMIT failed, or we are stopping: none is stored
        for item in batch:
            item.value, item.error = None, _fresh(exc)
        if not isinstance(exc, Exception):
            raise


def _fresh(exc: BaseException) -> BaseException:
    """The same error for each caller, as its own object: one raised in many places would
    gather every caller's traceback."""
    try:
        copy = type(exc)(*exc.args)
    except Exception:
        copy = RuntimeError(str(exc))
    copy.__cause__ = exc
    return copy


def group_write(db: Database, work: Callable[[Database], T]) -> T:
    """Run `work(db)` in a write transaction shared with the writes waiting beside it.

    For the hot path (check-ins): under load one commit carries many writes, so the pages they
    share (totals, hour buckets, the table's last page) reach the disk once, not once each.
    Each caller gets its own result or exception, and only after the commit. `work` may run in
    another caller's thread or greenlet: it uses its `db` argument and nothing of the request.
    """
    if db.conn.in_transaction:
        with write(db):
            return work(db)
    return _file_of(db).group.run(db, work)


def schema_version(db: Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: Database) -> int:
    """Bring the schema forward to SCHEMA_VERSION; safe to call at every start, by many processes."""
    if schema_version(db) == SCHEMA_VERSION:
        return SCHEMA_VERSION
    with write(db):
        current = schema_version(
            db
        )  # read again under the write lock: another process may have won
        if current > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"database schema {current} is newer than this code ({SCHEMA_VERSION})"
            )
        for version in range(current, SCHEMA_VERSION):
            for statement in _statements(MIGRATIONS[version]):
                db.conn.execute(statement)
            db.conn.execute(f"PRAGMA user_version = {version + 1}")
    return SCHEMA_VERSION


def _statements(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies whole."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--") and not buffer.strip():
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement in migration: {buffer[:80]!r}")
    return statements


def checkpoint(db: Database) -> tuple[int, int, int]:
    """A PASSIVE checkpoint: copy what the WAL holds into the database file without waiting for
    anyone (no reader or writer is held up); once all of it is copied and no reader still needs
    it, the next write starts the WAL over from its beginning, so it stops growing. What
    tracker/ops/litestream.py runs while Litestream, which checkpoints otherwise, is down.
    Returns SQLite's answer: (1 if it could not even start, frames in the WAL, frames copied)."""
    busy, frames, copied = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(busy), int(frames), int(copied)


def health(db: Database) -> int:
    """Whether the database answers and accepts a write, for /healthz: a real commit of one small
    row (the time of this check), so a full disk or a read-only file shows here as it does for
    check-ins. Returns the schema version; raises sqlite3.Error when the write fails."""
    version = schema_version(db)
    with write(db):
        db.execute(
            "INSERT INTO settings (key, value) VALUES ('health_checked_at', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [utcnow()],
        )
    return version
