"""When the disk fails under a running server: a frozen file system, database files that cannot
be written or that vanish. The server answers at once (503 with Retry-After, which phones and
tablets retry), never loses what it acknowledged, and recovers by itself when the disk does."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
import requests

from tracker.store import db as dbm

from .conftest import LiveServer
from .helpers import wait_until


def checkin(server: LiveServer, code: str, timeout: float = 5) -> int | str:
    """The status of one check-in, or the name of the error when no answer came."""
    try:
        return requests.post(
            f"{server.url}/api/checkins", json={"station": code}, timeout=timeout
        ).status_code
    except requests.RequestException as exc:
        return type(exc).__name__


def status(url: str, timeout: float = 5) -> int | str:
    try:
        return requests.get(url, timeout=timeout).status_code
    except requests.RequestException as exc:
        return type(exc).__name__


def stored_checkins(path: Path) -> int:
    with dbm.connect(path).conn as conn:
        return conn.execute("SELECT count(*) FROM checkins").fetchone()[0]


# ------------------------------------------------------------------ files that vanish


def test_database_files_that_vanish_refuse_writes_until_they_return(app, client, event, db_path):
    """SQLite in WAL mode would go on writing to a deleted file, and every write acknowledged
    since would be lost with it: instead writes are refused (503) while the files are away, no
    empty database is made in their place, and the same connection path works when they return."""
    code = event["stations"]["booth"]["code"]
    assert client.post("/api/checkins", json={"station": code}).status_code == 201
    files = [db_path.with_name(db_path.name + suffix) for suffix in ("", "-wal", "-shm")]
    away = [f.with_name(f.name + ".away") for f in files]
    for f, a in zip(files, away, strict=True):
        if f.exists():
            f.rename(a)
    r = client.post("/api/checkins", json={"station": code})
    assert r.status_code == 503 and int(r.headers["Retry-After"]) > 0
    assert r.get_json()["error"] == "database_unavailable"
    health = client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["status"] == "error"
    assert client.post("/api/checkins", json={"station": code}).status_code == 503
    assert not db_path.exists(), "an empty database was created in place of the missing one"
    for f, a in zip(files, away, strict=True):
        if a.exists():
            a.rename(f)
    assert client.get("/healthz").status_code == 200
    assert client.post("/api/checkins", json={"station": code}).status_code == 201
    assert stored_checkins(db_path) == 2


# ------------------------------------------------------------------ files that cannot be written


def chattr(flag: str, paths: list[Path]) -> bool:
    """chattr +i / -i on each path; False where the file system cannot do it."""
    if shutil.which("chattr") is None:
        return False
    return all(
        subprocess.run(["chattr", flag, str(p)], capture_output=True).returncode == 0 for p in paths
    )


@pytest.mark.live
def test_all_three_files_unwritable_the_server_answers_503_and_recovers_alone(db_path, event):
    """Immutable database, WAL and shared-memory files: the kernel refuses the next write to the
    shared memory SQLite maps, which kills the worker (SIGBUS); gunicorn starts another, which
    opens the files read-only. Every answer is a 503 until the files can be written again, and
    then the same worker serves (no restart by anyone): its read-only connections are replaced."""
    server = LiveServer(db_path, {"RATELIMIT_ENABLED": "0"}).start()
    code = event["stations"]["booth"]["code"]
    files = [db_path.with_name(db_path.name + suffix) for suffix in ("", "-wal", "-shm")]
    try:
        assert checkin(server, code) == 201
        if not chattr("+i", files):
            chattr("-i", files)
            pytest.skip("this file system cannot make files immutable (chattr +i)")
        try:
            wait_until(lambda: checkin(server, code) == 503, 30, "check-ins answered 503")
            health = requests.get(f"{server.url}/healthz", timeout=5)
            assert health.status_code == 503 and int(health.headers["Retry-After"]) > 0
        finally:
            chattr("-i", files)
        wait_until(lambda: status(f"{server.url}/healthz") == 200, 30, "healthz back to 200")
        assert checkin(server, code) == 201
    finally:
        server.stop(kill=True)
    assert stored_checkins(db_path) == 2  # the one that met the crash was never acknowledged


# ------------------------------------------------------------------ a frozen file system


@pytest.fixture
def frozen_disk(tmp_path):
    """A small ext4 file system of its own (a loop device), to freeze and thaw with fsfreeze."""
    tools = ("mkfs.ext4", "mount", "umount", "fsfreeze")
    if os.geteuid() != 0 or any(shutil.which(t) is None for t in tools):
        pytest.skip("freezing a file system needs root, mkfs.ext4, mount and fsfreeze")
    image, mount = tmp_path / "disk.img", tmp_path / "disk"
    mount.mkdir()
    with image.open("wb") as f:
        f.truncate(64 * 1024 * 1024)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True)
    if subprocess.run(["mount", "-o", "loop", str(image), str(mount)]).returncode:
        pytest.skip("this machine cannot mount a loop device")
    frozen = False

    def freeze(on: bool) -> None:
        nonlocal frozen
        if on != frozen:
            subprocess.run(["fsfreeze", "-f" if on else "-u", str(mount)], check=True)
            frozen = on

    try:
        yield mount, freeze
    finally:
        freeze(False)
        subprocess.run(["umount", "--lazy", str(mount)])


@pytest.mark.live
def test_a_frozen_disk_answers_503_within_seconds_and_loses_nothing(frozen_disk, event, db_path):
    """The write that meets the frozen disk first (a check-in, or a background task's) waits
    inside SQLite, and the serving loop with it; everything else (health, the scoreboard, static
    files) gets a 503 with Retry-After from the stall responder instead of hanging. After the thaw
    the waiting write is stored, and every check-in answered 201 is in the database."""
    mount, freeze = frozen_disk
    path = mount / "tracker.db"
    with dbm.connect(db_path).conn as source, dbm.connect(path).conn as copy:
        source.backup(copy)
    server = LiveServer(path, {"RATELIMIT_ENABLED": "0"}).start()
    code = event["stations"]["booth"]["code"]
    answers: list[int | str] = []
    waiting: list[int | str] = []  # the check-in sent as the disk froze
    try:
        answers.append(checkin(server, code))
        assert answers == [201]
        freeze(True)
        writer = threading.Thread(target=lambda: waiting.append(checkin(server, code, 60)))
        writer.start()
        # A static file needs no database: it turns 503 once the loop is stuck on the disk.
        wait_until(
            lambda: status(f"{server.url}/static/css/app.css", timeout=10) == 503,
            30,
            "a static file answered 503 while the loop is stuck",
        )
        health = requests.get(f"{server.url}/healthz", timeout=10)
        assert health.status_code == 503 and int(health.headers["Retry-After"]) > 0
        assert health.json()["status"] == "error" and "disk" in health.json()["database"]
        board = requests.get(f"{server.url}/api/scoreboard", timeout=10)
        assert board.status_code == 503 and board.json()["error"] == "database_unavailable"
        answers.append(checkin(server, code, 10))
        assert answers[-1] == 503
        freeze(False)
        writer.join(60)
        assert waiting in ([201], [503])  # 201 once stored, if its write was the one waiting
        wait_until(lambda: status(f"{server.url}/healthz") == 200, 30, "healthz back to 200")
        answers.append(checkin(server, code))
        assert answers[-1] == 201
    finally:
        freeze(False)
        server.stop(kill=True)
    assert stored_checkins(path) == (answers + waiting).count(201)
