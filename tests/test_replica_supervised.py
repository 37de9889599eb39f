"""Litestream supervised by the server (tracker/ops/litestream.py), with the real binary and real
server processes: a Litestream killed alone is seen on /healthz, started again, and the replica
catches up; the WAL stays small while it is down; several processes on one file run one
Litestream; and the README's restore drill brings central back with its attendees' cookies."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, suppress
from pathlib import Path

import pytest

from tracker.event import lookups as events
from tracker.ops import litestream
from tracker.ops import replication as replica
from tracker.ops.serve import ServerProcess

from .conftest import SMALL_EVENT
from .helpers import database_with

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parent.parent
KEY = "the key central served with"
SERVE = [sys.executable, "-m", "flask", "--app", "tracker", "replica", "serve"]


class Central:
    """A central server replicating to a file replica, as ./scripts/run serves it."""

    def __init__(self, tmp_path: Path):
        self.db_path = tmp_path / "central" / "tracker.db"  # the folder is the machine
        db, event = database_with(self.db_path, SMALL_EVENT)
        self.codes = [s["code"] for s in events.stations(db, event["id"])]
        db.close()
        self.replica_url = f"file://{tmp_path / 'replica'}"
        self.env = {
            "TRACKER_DB": str(self.db_path),
            "TRACKER_REPLICA": self.replica_url,
            "SECRET_KEY": KEY,
            "RATELIMIT_ENABLED": "0",
        }
        self.servers: list[ServerProcess] = []

    def serve(self) -> ServerProcess:
        server = ServerProcess(self.env, argv=SERVE).start()
        self.servers.append(server)
        return server

    def stop(self) -> None:
        for server in self.servers:
            server.stop(kill=True)


@pytest.fixture
def central(tmp_path: Path) -> Iterator[Central]:
    made = Central(tmp_path)
    yield made
    made.stop()


def health(server: ServerProcess) -> dict:
    with urllib.request.urlopen(server.url + "/healthz", timeout=10) as answer:
        assert answer.status == 200
        return json.loads(answer.read())["replication"]


def wait_for(what: Callable[[], object], seconds: float, step: float = 0.1) -> float:
    """Seconds until `what()` is true; fails after `seconds`. Real time is what is tested:
    Litestream's clock and the supervisor's each-second look decide."""
    began = time.monotonic()
    while not what():
        if time.monotonic() - began > seconds:
            raise AssertionError(f"not within {seconds} s")
        time.sleep(step)
    return time.monotonic() - began


def litestreams(server: ServerProcess) -> list[int]:
    """The server's Litestream processes that run (not those exited and not yet reaped)."""
    found = []
    for pid in server.processes():
        with suppress(OSError):
            stat = Path(f"/proc/{pid}/stat").read_text()
            name, state = stat[stat.index("(") + 1 : stat.rindex(")")], stat.split(") ")[1][0]
            if name == "litestream" and state != "Z":
                found.append(pid)
    return found


def check_in(server: ServerProcess, code: str, cookie: str | None = None) -> tuple[dict, str]:
    """A check-in over HTTP as a phone makes it; returns the answer and the attendee cookie
    (the one sent, or the new one the answer set)."""
    request = urllib.request.Request(
        f"{server.url}/api/checkins",
        data=json.dumps({"station": code, "id": str(uuid.uuid4())}).encode(),
        headers={"Content-Type": "application/json"},
    )
    if cookie:
        request.add_header("Cookie", f"tracker_attendee={cookie}")
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status in (200, 201)
        body = json.loads(answer.read())
        made = re.search(r"tracker_attendee=([^;]+)", answer.headers.get("Set-Cookie") or "")
    return body, made.group(1) if made else (cookie or "")


def replica_badges(url: str, scratch: Path) -> set[str]:
    """The badges of the attendees in the replica as it is now: restored to a fresh file."""
    target = scratch / f"{uuid.uuid4().hex}.db"
    replica.restore(target, url, secret_key=KEY, key_from_env=True)
    with closing(sqlite3.connect(target)) as conn:
        return {row[0] for row in conn.execute("SELECT badge FROM attendees")}


def in_replica(url: str, scratch: Path, badge: str) -> Callable[[], bool]:
    def look() -> bool:
        try:
            return badge in replica_badges(url, scratch)
        except replica.ReplicaError:
            return False

    return look


def test_litestream_killed_alone_is_seen_started_again_and_the_replica_catches_up(
    central, tmp_path
):
    server = central.serve()
    wait_for(lambda: health(server)["state"] == "ok", 30)
    check_in(server, central.codes[0])
    [pid] = litestreams(server)
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    detect = wait_for(lambda: health(server)["state"] != "ok", 30, step=0.05)
    seen = health(server)
    # Central goes on serving meanwhile; this write comes after the kill.
    body, _ = check_in(server, central.codes[1])
    badge = body["passport"]["badge"]
    wait_for(lambda: health(server)["state"] == "ok", 60)
    resumed = time.monotonic() - killed
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    wait_for(in_replica(central.replica_url, scratch, badge), 60, step=0.5)
    caught_up = time.monotonic() - killed
    again = health(server)
    assert seen["state"] == "down" and "Litestream" in (seen["error"] or "")
    assert again["restarts"] == 1 and again["error"] is None
    assert litestreams(server) not in ([], [pid])
    log = whole_log(server)  # plain text by default (store/logs.py), one line an event
    exited = [line for line in log.splitlines() if line.startswith("replica.litestream_exited")]
    assert exited and f"exit_code={-signal.SIGKILL}" in exited[0], log[-2000:]
    status = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "tracker", "admin", "status"],
        env={**os.environ, **central.env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Litestream is running. The replica is" in status, status
    assert "Litestream was started again 1 times." in status
    print(
        f"\nkilled Litestream: /healthz said {seen['state']!r} after {detect:.2f} s ({seen['error']});"
        f" ok again after {resumed:.2f} s; a write made after the kill was in the replica after"
        f" {caught_up:.2f} s"
    )
    assert detect < 30


def whole_log(server: ServerProcess) -> str:
    """The server's log from its start (log_tail keeps the end only)."""
    server.log.seek(0)
    return server.log.read().decode(errors="replace")


def test_the_wal_stays_small_while_litestream_is_down(central, tmp_path):
    server = central.serve()
    wait_for(lambda: health(server)["state"] == "ok", 30)
    wal = Path(f"{central.db_path}-wal")
    done = threading.Event()
    largest = [0]
    kills = [0]

    def keep_litestream_down() -> None:  # killed as often as it starts
        while not done.is_set():
            for pid in litestreams(server):
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                    kills[0] += 1
            with suppress(OSError):
                largest[0] = max(largest[0], wal.stat().st_size)
            time.sleep(0.02)

    killer = threading.Thread(target=keep_litestream_down)
    killer.start()
    try:
        wait_for(lambda: health(server)["state"] == "down", 30)
        largest[0] = 0
        writes, rate = 3000, 200  # a busy event: the was 98 writes a second
        began = time.monotonic()

        def paced(n: int) -> tuple[dict, str]:  # the n-th at its time, or at once when behind
            time.sleep(max(0.0, began + n / rate - time.monotonic()))
            return check_in(server, central.codes[n % 3])

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(paced, range(writes)))
        spent = time.monotonic() - began
        last_badge = answers[-1][0]["passport"]["badge"]
        time.sleep(litestream.CHECK_SECONDS * 2)  # the next checkpoint
        after = wal.stat().st_size
        state = health(server)
    finally:
        done.set()
        killer.join()
    assert state["state"] == "down"
    print(
        f"\n{writes} check-ins in {spent:.1f} s ({writes / spent:.0f}/s) with Litestream killed"
        f" {kills[0]} times: the WAL was at most {largest[0] / 2**20:.2f} MB, and"
        f" {after / 2**20:.2f} MB after"
    )
    assert largest[0] < 4 * 2**20
    # Let alone, it starts again (after its back-off) and the replica catches up, although the
    # WAL moved on without it.
    began = time.monotonic()
    wait_for(lambda: health(server)["state"] == "ok", 60)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    wait_for(in_replica(central.replica_url, scratch, last_badge), 60, step=0.5)
    print(f"let alone, the replica held the last write {time.monotonic() - began:.1f} s later")


def test_processes_on_one_file_run_one_litestream_and_another_takes_over(central):
    first, second = central.serve(), central.serve()
    wait_for(lambda: health(first)["state"] == "ok" == health(second)["state"], 30)
    assert len(litestreams(first) + litestreams(second)) == 1
    holder, other = (first, second) if litestreams(first) else (second, first)
    assert health(other)["restarts"] == health(holder)["restarts"] == 0  # read from the holder
    holder.stop()  # SIGTERM: Litestream ships its last commits and exits, then the lock is free
    took = wait_for(lambda: bool(litestreams(other)), 30)
    wait_for(lambda: health(other)["state"] == "ok", 30)
    print(f"\nthe other process ran Litestream {took:.1f} s after the first stopped")


def readme_drill() -> list[str]:
    """The README's restore commands, as written."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("**Restore onto a fresh machine**")
    opening = readme.index("```sh\n", start) + len("```sh\n")
    block = readme[opening : readme.index("\n```", opening)]
    return [line for line in block.splitlines() if line.strip()]


def follow(
    drill: list[str], env: dict[str, str], secret_key: str | None
) -> subprocess.CompletedProcess[str]:
    """Run the drill's lines between ./scripts/setup (done) and ./scripts/run (which writes
    .flaskenv in this checkout: the test serves as it does instead), with this test's replica,
    database and key in place of the README's."""
    lines = drill[1:-1]
    script = []
    for line in lines:
        if line.startswith("export AWS_"):
            continue  # a file replica needs no credentials
        if line.startswith("export SECRET_KEY="):
            if secret_key is None:
                continue
            line = f"export SECRET_KEY={secret_key!r}"
        line = re.sub(r"TRACKER_REPLICA=\S+", f"TRACKER_REPLICA={env['TRACKER_REPLICA']}", line)
        line = re.sub(r"TRACKER_DB=\S+", f"TRACKER_DB={env['TRACKER_DB']}", line)
        script.append(line)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_", "SECRET_KEY"))}
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "\n".join(script)],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
    )


def test_the_readme_restore_drill_brings_central_back_with_its_cookies(central, tmp_path):
    drill = readme_drill()
    assert drill[0] == "./scripts/setup" and drill[-1] == "./scripts/run"
    assert any(line.startswith("export SECRET_KEY=") for line in drill)
    assert drill[-2] == ".venv/bin/flask --app tracker replica restore"
    server = central.serve()
    wait_for(lambda: health(server)["state"] == "ok", 30)
    body, cookie = check_in(server, central.codes[0])
    badge = body["passport"]["badge"]
    assert cookie
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    wait_for(in_replica(central.replica_url, scratch, badge), 30, step=0.5)
    central.stop()  # the machine is lost: every process killed, its folder gone
    shutil.rmtree(central.db_path.parent)

    forgot = follow(drill, central.env, secret_key=None)
    assert forgot.returncode != 0 and "SECRET_KEY is not set" in forgot.stderr, forgot.stderr
    wrong = follow(drill, central.env, secret_key="a new key")
    assert wrong.returncode != 0 and "not the key this database was served with" in wrong.stderr
    assert not replica.holds_records(central.db_path)  # nothing was put in place
    done = follow(drill, central.env, secret_key=KEY)
    assert done.returncode == 0, done.stderr
    assert "Restored" in done.stdout

    again = central.serve()
    wait_for(lambda: health(again)["state"] == "ok", 30)
    body, sent = check_in(again, central.codes[1], cookie=cookie)
    assert sent == cookie  # no new identity: the cookie made before the loss still works
    assert body["passport"]["badge"] == badge and body["passport"]["visited"] == 2
