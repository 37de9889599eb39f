"""Live scoreboard benchmark: fan-out latency, idle cost, snapshot cost at scale, burst coalescing.

Starts the production server (gunicorn, one gevent worker; `python -m tracker.ops.serve`) on a fresh
database holding the demo event, on 127.0.0.1, and measures in one run:

1. latency from a check-in (POST /api/checkins) to N connected python-socketio screens (websocket
   transport), N = 50 and 200: p50 and p95 over all screens and trials (budget: p95 < 500 ms);
2. CPU of the server with 50 screens connected and no writes, against no screens at all;
3. snapshot time with 1,000 and with 1,000,000 check-ins in the database (budget: ratio <= 1.5);
4. emits per second a screen receives during a burst of 1,000 check-ins.

The latency screens run in four worker processes (real screens are separate machines); on this
2-core machine they still share the CPU with the server, so the figures are on the pessimistic
side. Every figure comes from one run; compare them with each other, not across machines.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import socketio  # noqa: E402

from tracker.event import file as eventfile  # noqa: E402
from tracker.event import lookups as events  # noqa: E402
from tracker.event import setup as eventsetup  # noqa: E402
from tracker.figures import scoreboard  # noqa: E402
from tracker.ops.serve import ServerProcess  # noqa: E402
from tracker.store import db as dbm  # noqa: E402

DEMO = ROOT / "tracker" / "data" / "demo-event.toml"


def fresh_db(path: Path) -> dict:
    db = dbm.connect(path)
    dbm.migrate(db)
    event = eventsetup.load_event(db, eventfile.read_event_file(DEMO)).event
    event["stations"] = events.stations(db, event["id"])
    db.close()
    return event


def start_server(db_path: Path, poll: float | None = None) -> ServerProcess:
    env = {
        "TRACKER_DB": str(db_path),
        "SECRET_KEY": "bench-secret",
        "RATELIMIT_ENABLED": "0",
        **({"LIVE_POLL_SECONDS": str(poll)} if poll else {}),
    }
    return ServerProcess(env).start()


class Screen:
    def __init__(self, url: str):
        self.received: list[tuple[float, int]] = []
        self.client = socketio.Client(reconnection=False)
        self.client.on("scoreboard", self._got, namespace="/live")
        self.client.connect(url, namespaces=["/live"], transports=["websocket"], wait_timeout=20)

    def _got(self, snap: dict) -> None:
        self.received.append((time.monotonic(), snap["total"]))

    def first_at_least(self, total: int) -> float | None:
        return first_at_least(list(self.received), total)


def first_at_least(received: list[tuple[float, int]], total: int) -> float | None:
    """When a screen first showed `total` or more (None: never)."""
    return next((at for at, seen in received if seen >= total), None)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def checkin(session: requests.Session, url: str, code: str) -> None:
    r = session.post(url + "/api/checkins", json={"station": code}, timeout=10)
    r.raise_for_status()


class ScreenFarm:
    """n screens spread over a few processes, as real screens are separate machines.

    Keeping 200 clients in this one process would measure this process's GIL, not the server.
    Each worker connects its share, prints "ready", and on "dump" prints every (time, total) its
    screens received; CLOCK_MONOTONIC is shared by all processes on the machine.
    """

    def __init__(self, url: str, n: int, processes: int = 4):
        shares = [n // processes + (1 if i < n % processes else 0) for i in range(processes)]
        self.workers = [
            subprocess.Popen(
                [sys.executable, __file__, "--screen-worker", url, str(k)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for k in shares
            if k
        ]
        for w in self.workers:
            line = w.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"screen worker failed: {line!r}")

    def dump(self) -> list[list[tuple[float, int]]]:
        screens = []
        for w in self.workers:
            w.stdin.write("dump\n")
            w.stdin.flush()
            screens.extend(json.loads(w.stdout.readline()))
        return screens

    def close(self) -> None:
        for w in self.workers:
            w.stdin.close()
        for w in self.workers:
            w.wait(30)


def screen_worker(url: str, n: int) -> None:
    screens = [Screen(url) for _ in range(n)]
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "dump":
            print(json.dumps([s.received for s in screens]), flush=True)
    for s in screens:
        s.client.disconnect()


def bench_latency(server: ServerProcess, codes: list[str], n: int, trials: int) -> dict:
    farm = ScreenFarm(server.url, n)
    time.sleep(1.0)
    total = requests.get(server.url + "/api/scoreboard", timeout=5).json()["total"]
    session = requests.Session()
    sent: list[tuple[float, int]] = []
    for t in range(trials):
        started = time.monotonic()
        checkin(session, server.url, codes[t % len(codes)])
        total += 1
        sent.append((started, total))
        # Apart, so each check-in is its own emit, and at a random phase of the server's poll:
        # a whole number of poll periods apart, every check-in would wait the same part of one.
        time.sleep(random.uniform(1.0, 1.5))
    time.sleep(3.0)  # late arrivals of the last ones still count (and show in p95)
    screens = farm.dump()
    farm.close()
    latencies, missed = [], 0
    for started, target in sent:
        for received in screens:
            at = first_at_least(received, target)
            if at is None:
                missed += 1
            else:
                latencies.append(at - started)
    return {
        "screens": n,
        "samples": len(latencies),
        "missed": missed,
        "p50_ms": round(1000 * statistics.median(latencies), 1),
        "p95_ms": round(1000 * percentile(latencies, 95), 1),
        "load_average": os.getloadavg()[0],
    }


def bench_idle(server: ServerProcess, seconds: float) -> dict:
    pid = server.worker_pid()
    time.sleep(1.0)
    c0, w0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    bare = (cpu_seconds(pid) - c0) / (time.monotonic() - w0)
    screens = [Screen(server.url) for _ in range(50)]
    time.sleep(2.0)  # connections settled
    c0, w0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    with_screens = (cpu_seconds(pid) - c0) / (time.monotonic() - w0)
    for s in screens:
        s.client.disconnect()
    return {
        "seconds": seconds,
        "cpu_percent_no_screens": round(100 * bare, 2),
        "cpu_percent_50_screens": round(100 * with_screens, 2),
    }


def bench_burst(server: ServerProcess, codes: list[str], count: int) -> dict:
    screen = Screen(server.url)
    time.sleep(0.8)
    before = len(screen.received)
    total = requests.get(server.url + "/api/scoreboard", timeout=5).json()["total"]
    local = threading.local()

    def send(i: int) -> None:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        local.session.cookies.clear()  # a new attendee each time: every check-in counts
        checkin(local.session, server.url, codes[i % len(codes)])

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(send, range(count)))
    ended = time.monotonic()
    deadline = ended + 5
    while time.monotonic() < deadline and not screen.first_at_least(total + count):
        time.sleep(0.02)
    settled = time.monotonic()
    time.sleep(0.5)
    emits = [at for at, _ in screen.received[before:]]
    screen.client.disconnect()
    duration = ended - started
    return {
        "checkins": count,
        "burst_seconds": round(duration, 2),
        "checkins_per_second": round(count / duration),
        "emits": len(emits),
        "emits_per_second": round(len(emits) / max(settled - started, duration), 2),
        "last_total_seen_after_ms": round(1000 * (settled - ended)),
    }


def fill(db_path: Path, event: dict, n: int) -> None:
    """n counted check-ins (one new attendee each) spread over 12 hours, plus 1% public stories.

    Written with recursive CTEs in a few statements; the triggers keep the totals as usual.
    """
    stations = [s["id"] for s in event["stations"]]
    db = dbm.connect(db_path)
    with dbm.write(db):
        first = db.execute("SELECT ifnull(max(id), 0) + 1 FROM attendees").fetchone()[0]
        db.execute(
            "WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n + 1 < ?)"
            " INSERT INTO attendees (id, event_id, token, badge, created_at)"
            " SELECT ? + n, ?, 'bench-' || (? + n), 'B' || (? + n), '2026-10-07T08:00:00.000Z'"
            " FROM i",
            [n, first, event["id"], first, first],
        )
        values = ",".join(str(s) for s in stations)
        db.execute(
            f"WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n + 1 < ?),"
            f" st(k, id) AS (SELECT row_number() OVER () - 1, value FROM json_each('[{values}]'))"
            " INSERT INTO checkins (uuid, station_id, attendee_id, counted, scanned_at, received_at)"
            " SELECT 'bench-' || (? + n), st.id, ? + n, 1, t.at, t.at FROM i"
            " JOIN st ON st.k = n % ?"
            " JOIN (SELECT printf('2026-10-07T%02d:%02d:00.000Z', 8 + (m / 60), m % 60) AS at,"
            "       m FROM (WITH RECURSIVE j(m) AS (SELECT 0 UNION ALL SELECT m + 1 FROM j"
            "       WHERE m + 1 < 720) SELECT m FROM j)) t ON t.m = n % 720",
            [n, first, first, len(stations)],
        )
        db.execute(
            f"WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n + 1 < ?),"
            f" st(k, id) AS (SELECT row_number() OVER () - 1, value FROM json_each('[{values}]'))"
            " INSERT INTO conversations (uuid, station_id, source, story, nps, public,"
            " captured_at, received_at)"
            " SELECT 'bench-c-' || (? + n), st.id, 'staff', 'Bench story ' || n, n % 11, 1,"
            " printf('2026-10-07T%02d:%02d:00.000Z', 8 + (n % 720) / 60, n % 60),"
            " printf('2026-10-07T%02d:%02d:00.000Z', 8 + (n % 720) / 60, n % 60)"
            " FROM i JOIN st ON st.k = n % ?",
            [max(1, n // 100), first, len(stations)],
        )
    db.close()


def time_snapshot(db_path: Path) -> float:
    db = dbm.connect(db_path)
    event = events.get_event(db)
    scoreboard.snapshot(db, event)  # warm the page cache
    started = time.perf_counter()
    scoreboard.snapshot(db, event)
    took = time.perf_counter() - started
    db.close()
    return took


def bench_snapshot(tmp: Path, small: int, big: int, runs: int) -> dict:
    paths, built = {}, {}
    for n in (small, big):
        paths[n] = tmp / f"snap-{n}.db"
        event = fresh_db(paths[n])
        started = time.monotonic()
        fill(paths[n], event, n)
        built[n] = time.monotonic() - started
    # Both databases take turns, so a slow moment of the machine lands on both alike.
    samples: dict[int, list[float]] = {small: [], big: []}
    for _ in range(runs):
        for n in (small, big):
            samples[n].append(time_snapshot(paths[n]))
    out = {n: (statistics.median(samples[n]), built[n]) for n in (small, big)}
    ratio = out[big][0] / out[small][0]
    return {
        f"ms_at_{small}": round(1000 * out[small][0], 3),
        f"ms_at_{big}": round(1000 * out[big][0], 3),
        "ratio": round(ratio, 2),
        "budget_ratio": 1.5,
        f"seconds_to_build_{big}": round(out[big][1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screens", default="50,200", help="screen counts for the latency run")
    parser.add_argument("--trials", type=int, default=10, help="check-ins per latency run")
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--big", type=int, default=1_000_000, help="check-ins in the big database")
    parser.add_argument("--poll", type=float, default=None, help="LIVE_POLL_SECONDS for the server")
    parser.add_argument("--only", choices=["latency", "idle", "snapshot", "burst"], default=None)
    parser.add_argument("--screen-worker", nargs=2, metavar=("URL", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.screen_worker:
        screen_worker(args.screen_worker[0], int(args.screen_worker[1]))
        return

    with tempfile.TemporaryDirectory(prefix="bench-board-") as tmp_name:
        tmp = Path(tmp_name)
        db_path = tmp / "tracker.db"
        event = fresh_db(db_path)
        codes = [s["code"] for s in event["stations"]]
        if args.only in (None, "snapshot"):
            print("snapshot", bench_snapshot(tmp, 1000, args.big, runs=200), flush=True)
        if args.only != "snapshot":
            server = start_server(db_path, poll=args.poll)
            try:
                if args.only in (None, "idle"):
                    print("idle", bench_idle(server, args.idle_seconds), flush=True)
                if args.only in (None, "latency"):
                    for n in (int(x) for x in args.screens.split(",")):
                        print("latency", bench_latency(server, codes, n, args.trials), flush=True)
                if args.only in (None, "burst"):
                    print("burst", bench_burst(server, codes, args.burst), flush=True)
            finally:
                server.stop()


if __name__ == "__main__":
    main()
