"""Plan B for central: Litestream replicates the database, and a lost machine comes back from the
replica with every write acknowledged more than a sync interval before it was lost."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tracker import create_app
from tracker.event import lookups as events
from tracker.ops import replication as replica
from tracker.ops.serve import ServerProcess
from tracker.store import db as dbm

from .conftest import SMALL_EVENT
from .helpers import database_with

SYNC_SECONDS = 1.0  # replica.MONITOR_INTERVAL and replica.SYNC_INTERVAL
MARGIN_SECONDS = 3.0  # a write acknowledged this long before the loss must be in the replica


def cli(db_path: Path, replica_url: str | None, *args: str):
    app = create_app({"TESTING": True, "DATABASE": str(db_path), "REPLICA": replica_url})
    return app.test_cli_runner().invoke(args=list(args))


def test_the_intervals_are_the_ones_the_readme_promises():
    assert replica.MONITOR_INTERVAL == replica.SYNC_INTERVAL == f"{SYNC_SECONDS:g}s"


@pytest.mark.live  # runs the litestream binary
def test_litestream_reads_the_generated_config(tmp_path):
    db_path = tmp_path / "tracker.db"
    url = f"file://{tmp_path / 'replica folder'}"
    path = replica.write_config(db_path, url)
    assert path == tmp_path / "tracker.db.litestream.yml"
    text = path.read_text()
    assert "monitor-interval: 1s" in text and "sync-interval: 1s" in text
    listed = subprocess.run(
        [replica.litestream(), "databases", "-no-expand-env", "-config", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(db_path) in listed and "file" in listed


def test_the_server_command_runs_under_litestream_with_that_config(tmp_path):
    server = ["/venv/bin/python", "-m", "tracker.ops.serve", "a b"]
    argv = replica.replicate_argv(tmp_path / "t.db", "s3://bucket/tracker?region=eu", server)
    assert argv[0].endswith("litestream") and argv[1] == "replicate"
    assert argv[argv.index("-config") + 1] == str(tmp_path / "t.db.litestream.yml")
    assert shlex.split(argv[argv.index("-exec") + 1]) == server
    assert '"s3://bucket/tracker?region=eu"' in (tmp_path / "t.db.litestream.yml").read_text()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (None, "TRACKER_REPLICA is not set"),
        ("", "TRACKER_REPLICA is not set"),
        ("/mnt/backup", "is not a URL"),
        ("file://backup/tracker", "needs an absolute path"),
    ],
)
def test_a_missing_or_bad_replica_url_is_refused_clearly(tmp_path, url, message):
    with pytest.raises(replica.ReplicaError, match=message):
        replica.config_text(tmp_path / "t.db", url)
    for command in ("restore", "serve"):
        result = cli(tmp_path / "t.db", url, "replica", command)
        assert result.exit_code == 1 and message in result.output


def day_database(path: Path) -> bytes:
    """A database with the small event in it; returns its bytes, to see that it stays."""
    db, _ = database_with(path, SMALL_EVENT)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path.read_bytes()


def test_restore_refuses_to_overwrite_a_database_with_records_without_force(tmp_path):
    db_path = tmp_path / "tracker.db"
    before = day_database(db_path)
    result = cli(db_path, f"file://{tmp_path / 'replica'}", "replica", "restore")
    assert result.exit_code == 1 and "refusing to overwrite" in result.output
    assert db_path.read_bytes() == before


@pytest.mark.live  # `replica restore` runs the litestream binary
def test_an_empty_replica_is_said_so_and_the_file_there_stays_even_with_force(tmp_path):
    db_path = tmp_path / "tracker.db"
    before = day_database(db_path)
    (tmp_path / "replica").mkdir()
    result = cli(db_path, f"file://{tmp_path / 'replica'}", "replica", "restore", "--force")
    assert result.exit_code == 1 and "holds no backup" in result.output
    assert db_path.read_bytes() == before


def test_only_a_database_with_records_counts_as_one_to_keep(tmp_path):
    assert not replica.holds_records(tmp_path / "none.db")
    dbm.migrate(dbm.connect(tmp_path / "fresh.db"))  # what every `flask` command makes first
    assert not replica.holds_records(tmp_path / "fresh.db")
    day_database(tmp_path / "day.db")
    assert replica.holds_records(tmp_path / "day.db")
    (tmp_path / "other.db").write_bytes(b"not SQLite")
    assert replica.holds_records(tmp_path / "other.db")


def test_only_litestream_checkpoints_when_a_replica_is_set(tmp_path, monkeypatch):
    def autocheckpoint() -> int:
        db = dbm.connect(tmp_path / "t.db")
        try:
            return int(db.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
        finally:
            db.close()

    monkeypatch.delenv("TRACKER_REPLICA", raising=False)
    assert autocheckpoint() == 1000  # SQLite's own default
    monkeypatch.setenv("TRACKER_REPLICA", f"file://{tmp_path / 'replica'}")
    assert autocheckpoint() == 0


def test_admin_status_says_where_the_replica_is_without_its_password(tmp_path):
    dbm.migrate(dbm.connect(tmp_path / "t.db"))
    result = cli(
        tmp_path / "t.db", "sftp://ann:secret@backup.example.org/tracker", "admin", "status"
    )
    assert "Replication: on, to sftp://ann:***@backup.example.org/tracker." in result.output
    assert "secret" not in result.output
    assert "Replication" not in cli(tmp_path / "t.db", None, "admin", "status").output


def descendants(pid: int) -> list[int]:
    """Every process under `pid` (Litestream's threads each list their own children)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += [int(child), *descendants(int(child))]
    return found


def check_in(url: str, code: str, checkin_id: str) -> None:
    request = urllib.request.Request(
        f"{url}/api/checkins",
        data=json.dumps({"station": code, "id": checkin_id}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 201


def serve_write_and_lose(env: dict, code: str, writes: int) -> tuple[dict[str, float], float]:
    """Serve as ./scripts/run does with TRACKER_REPLICA set, check in `writes` times (half at
    once, half spread over the next 4.5 s), then lose the machine: every process of the server
    stopped at one moment and killed, and the folder of the database deleted. Returns when each
    write was acknowledged and when the machine was lost."""
    serve = [sys.executable, "-m", "flask", "--app", "tracker", "replica", "serve"]
    server = ServerProcess(env, argv=serve).start()
    try:
        acknowledged: dict[str, float] = {}
        for n in range(writes):
            checkin_id = str(uuid.uuid4())
            check_in(server.url, code, checkin_id)
            acknowledged[checkin_id] = time.monotonic()
            if n >= writes // 2:
                # Real time passing is what is tested: Litestream's own clock decides what is
                # replicated by the loss, and no clock of its can be injected.
                time.sleep(4.5 / (writes - writes // 2))
        assert server.proc is not None
        everything = [server.proc.pid, *descendants(server.proc.pid)]
        assert len(everything) >= 3  # litestream, gunicorn, its worker
        for pid in everything:
            os.kill(pid, signal.SIGSTOP)
        lost_at = time.monotonic()
        for pid in everything:
            os.kill(pid, signal.SIGKILL)
        server.proc.wait(10)
    finally:
        server.stop(kill=True)
    shutil.rmtree(Path(env["TRACKER_DB"]).parent)
    return acknowledged, lost_at


def restore_and_read(env: dict) -> set[str]:
    """`flask replica restore` as the README says, then the check-ins of the restored file."""
    restored = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "tracker", "replica", "restore"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    assert restored.returncode == 0, restored.stderr
    conn = sqlite3.connect(env["TRACKER_DB"])
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return {row[0] for row in conn.execute("SELECT uuid FROM checkins")}
    finally:
        conn.close()


@pytest.mark.live
def test_a_lost_machine_comes_back_with_every_write_older_than_the_sync_interval(tmp_path):
    db_path = tmp_path / "central" / "tracker.db"  # the folder is the machine that is lost
    db, event = database_with(db_path, SMALL_EVENT)
    code = events.stations(db, event["id"])[0]["code"]
    db.close()
    env = {
        "TRACKER_DB": str(db_path),
        "TRACKER_REPLICA": f"file://{tmp_path / 'replica'}",
        "SECRET_KEY": "replica-test",
        "RATELIMIT_ENABLED": "0",
    }
    window = SYNC_SECONDS + MARGIN_SECONDS
    kept: set[str] = set()
    # Twice: the second round serves the restored file, replicating to the same replica.
    for writes in (100, 20):
        acknowledged, lost_at = serve_write_and_lose(env, code, writes)
        present = restore_and_read(env)
        old = {i for i, at in acknowledged.items() if lost_at - at > window}
        assert len(old) >= writes // 2
        assert kept <= present, "a write restored before was lost after serving again"
        assert old <= present, f"{len(old - present)} writes older than {window:g} s were lost"
        lost = set(acknowledged) - present
        oldest = max((lost_at - acknowledged[i] for i in lost), default=0.0)
        print(
            f"\nrestored {len(present & set(acknowledged))} of {len(acknowledged)} check-ins;"
            f" all {len(old)} acknowledged more than {window:g} s before the loss are there;"
            f" {len(lost)} lost, the oldest acknowledged {oldest:.2f} s before the loss"
        )
        kept = present
