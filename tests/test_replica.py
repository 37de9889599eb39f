"""Plan B for central: Litestream replicates the database, and a lost machine comes back from the
replica with every write acknowledged more than a sync interval before it was lost."""

from __future__ import annotations

import json
import os
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
from pydantic import TypeAdapter

from tracker import create_app
from tracker.contract.responses import Health
from tracker.event import lookups as events
from tracker.ops import litestream
from tracker.ops import replication as replica
from tracker.ops.serve import ServerProcess
from tracker.store import db as dbm
from tracker.store import settings

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


def test_litestream_runs_with_that_config_and_its_control_socket_on(tmp_path):
    argv = replica.replicate_argv(tmp_path / "t.db", "s3://bucket/tracker?region=eu")
    assert argv[0].endswith("litestream") and argv[1] == "replicate"
    assert argv[argv.index("-config") + 1] == str(tmp_path / "t.db.litestream.yml")
    assert "-exec" not in argv  # the server is Litestream's parent now, not its child
    text = (tmp_path / "t.db.litestream.yml").read_text()
    assert '"s3://bucket/tracker?region=eu"' in text
    socket = replica.socket_path(tmp_path / "t.db")
    assert f"socket:\n  enabled: true\n  path: {json.dumps(str(socket))}" in text
    assert len(str(socket)) < 100  # a Unix socket's path has room for about 107 bytes
    assert socket.parent.stat().st_mode & 0o777 == 0o700
    assert replica.socket_path(tmp_path / "other.db") != socket


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


def write_state(db_path: Path, age: float = 0.0, **fields) -> None:
    """The state file as the supervising process writes it, `age` seconds ago."""
    record = {"state": "ok", "lag_seconds": 0.8, "error": None, "restarts": 0, **fields}
    record |= {"written_at": time.time() - age, "synced_at": time.time() - 1}
    replica.state_path(db_path).write_text(json.dumps(record))


def test_admin_status_says_what_the_supervising_process_last_saw(tmp_path):
    db_path = tmp_path / "t.db"
    dbm.migrate(dbm.connect(db_path))
    url = "file:///mnt/backup"

    def status() -> str:
        return cli(db_path, url, "admin", "status").output.splitlines()[-1]

    assert status() == f"Replication: on, to {url}. DOWN: {litestream.NOBODY}."
    write_state(db_path)
    assert status() == (
        f"Replication: on, to {url}. Litestream is running. The replica is 0.8 s behind."
    )
    write_state(db_path, state="down", error="Litestream exited (killed by SIGKILL)", restarts=2)
    assert status() == (
        f"Replication: on, to {url}. DOWN: Litestream exited (killed by SIGKILL). The replica is"
        " 0.8 s behind. Litestream was started again 2 times."
    )
    write_state(db_path, age=litestream.STALE_SECONDS + 1)
    assert status().startswith(f"Replication: on, to {url}. DOWN: {litestream.NOBODY}; the one")
    write_state(db_path, stopped=True)
    assert status() == f"Replication: on, to {url}. DOWN: {litestream.NOBODY}."


def test_healthz_shows_the_replica_and_stays_200_when_it_is_not_ok(make_app, db_path):
    app = make_app(REPLICA=f"file://{db_path.parent / 'replica'}")
    client = app.test_client()
    answer = client.get("/healthz")
    assert answer.status_code == 200  # a lost replica does not take central out of service
    assert answer.json["replication"] == {
        "state": "down",
        "lag_seconds": None,
        "error": litestream.NOBODY,
        "restarts": 0,
    }
    write_state(db_path, state="degraded", lag_seconds=41.5, error="the replica is 41 s behind")
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.json["status"] == "ok"
    assert answer.json["replication"]["state"] == "degraded"
    assert answer.json["replication"]["lag_seconds"] == 41.5
    TypeAdapter(Health).validate_python(answer.json)  # the published shape, exactly
    assert "replication" not in make_app().test_client().get("/healthz").json


def test_metrics_carry_the_replicas_state_and_lag(make_app, db_path, monkeypatch):
    from prometheus_client.parser import text_string_to_metric_families

    def scrape() -> dict:
        text = make_app().test_client().get("/metrics").get_data(as_text=True)
        return {
            (s.name, tuple(s.labels.items())): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    assert not any(name.startswith("tracker_replica") for name, _ in scrape())
    monkeypatch.setenv("TRACKER_REPLICA", f"file://{db_path.parent / 'replica'}")
    write_state(db_path, state="degraded", lag_seconds=41.5)
    found = scrape()
    assert found[("tracker_replication", (("state", "degraded"),))] == 1
    assert found[("tracker_replication", (("state", "ok"),))] == 0
    assert found[("tracker_replica_lag_seconds", ())] == 41.5


def test_while_litestream_is_down_the_supervisor_checkpoints_the_wal(db_path, monkeypatch):
    monkeypatch.setenv("TRACKER_REPLICA", f"file://{db_path.parent / 'replica'}")
    db, _ = database_with(db_path, SMALL_EVENT)  # autocheckpoint off, as when replicating
    supervisor = litestream.Supervisor(db_path, os.environ["TRACKER_REPLICA"], max_lag=30)
    supervisor.restart_at = float("inf")  # Litestream down, not to be started in this test
    wal = Path(f"{db_path}-wal")
    try:
        db.execute("CREATE TABLE filler (x TEXT)")
        sizes = []
        for _ in range(4):
            supervisor.step()
            assert supervisor.health()["state"] == "down"
            with dbm.write(db):  # the first write after a whole checkpoint starts the WAL over
                db.execute("INSERT INTO filler VALUES ('y')")
            for _ in range(200):  # about 1 MB of WAL (a page or two a commit)
                with dbm.write(db):
                    db.execute("INSERT INTO filler VALUES (?)", ["x" * 500])
            sizes.append(wal.stat().st_size)
        # The file holds one round's writes (it keeps its high-water mark), never four.
        assert max(sizes) < 1.5 * min(sizes) and max(sizes) < 2 * 2**20, sizes
        health = json.loads(replica.state_path(db_path).read_text())
        assert health["state"] == "down" and health["supervisor_pid"] == os.getpid()
    finally:
        supervisor.stop()
        db.close()
        if supervisor.db is not None:
            supervisor.db.close()
        if supervisor.lock_file is not None:
            supervisor.lock_file.close()


def test_one_process_per_database_supervises(tmp_path):
    url = f"file://{tmp_path / 'replica'}"
    first = litestream.Supervisor(tmp_path / "t.db", url, max_lag=30)
    second = litestream.Supervisor(tmp_path / "t.db", url, max_lag=30)
    other = litestream.Supervisor(tmp_path / "other.db", url, max_lag=30)
    try:
        assert first._take_lock() and not second._take_lock() and other._take_lock()
        assert first.lock_file is not None
        first.lock_file.close()  # its process is gone
        assert second._take_lock()
    finally:
        for supervisor in (first, second, other):
            if supervisor.lock_file is not None:
                supervisor.lock_file.close()


def test_a_restore_needs_the_secret_key_central_served_with(tmp_path):
    db_path = tmp_path / "restored.db"
    day_database(db_path)
    check = replica.check_secret_key
    check(db_path, "anything", key_from_env=True)  # no fingerprint kept: taken on trust
    with pytest.raises(replica.WrongSecretKey, match="SECRET_KEY is not set"):
        check(db_path, "made-up-here", key_from_env=False)
    db = dbm.connect(db_path)
    with dbm.write(db):
        settings.put(db, replica.FINGERPRINT_SETTING, replica.key_fingerprint("central's key"))
    db.close()
    check(db_path, "central's key", key_from_env=True)
    check(db_path, "central's key", key_from_env=False)  # instance/secret_key copied over
    with pytest.raises(replica.WrongSecretKey, match="not the key this database was served"):
        check(db_path, "another key", key_from_env=True)
    with pytest.raises(replica.WrongSecretKey, match="instance/secret_key here is another"):
        check(db_path, "made-up-here", key_from_env=False)
    check(db_path, "another key", key_from_env=True, new_key=True)
    assert b"central's key" not in db_path.read_bytes()  # only its fingerprint is kept


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
