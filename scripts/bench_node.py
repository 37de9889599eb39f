"""Location node benchmark: a central and a node, real processes on 127.0.0.1, one run.

1. Forwarding throughput: central is stopped, 10,000 records (attendees and their check-ins)
   queue in the node's outbox, central starts again, and the node's backlog is timed to zero:
   records/s from a backlog of 10,000.
2. Delay with the link up: a check-in posted to the node, then central's /api/scoreboard polled
   every 10 ms until it counts it; p50 and p95 over --samples check-ins.
3. Delay during a drain: central is stopped again while another backlog of --records queues,
   then started; while the node drains it, a new check-in is posted to the node every 50 ms, and
   each one's arrival in central's file (what central's boards read) is timed; p50, p95, max.

The figures are for comparing runs on one machine (README, Performance), never a test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from tracker.checkins import record as checkins  # noqa: E402
from tracker.event import file as eventfile  # noqa: E402
from tracker.event import lookups as events  # noqa: E402
from tracker.event import setup as eventsetup  # noqa: E402
from tracker.node import enrol  # noqa: E402
from tracker.ops.serve import ServerProcess  # noqa: E402
from tracker.store import db as dbm  # noqa: E402

SMALL_EVENT = ROOT / "tests" / "data" / "small-event.toml"
LOCATION = "cork"


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


def wait_for(check, seconds: float, what: str, every: float = 0.05):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    raise SystemExit(f"gave up waiting for {what}")


def central_count(central: ServerProcess) -> int:
    return int(get(f"{central.url}/api/scoreboard?location={LOCATION}")["checkins"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000, help="backlog size, in records")
    parser.add_argument("--samples", type=int, default=100, help="check-ins timed with the link up")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-node-"))
    central_db = dbm.connect(work / "central.db")
    dbm.migrate(central_db)
    event = eventsetup.load_event(central_db, eventfile.read_event_file(SMALL_EVENT)).event
    _, token = enrol.add(central_db, event, LOCATION)
    quiet = {"RATELIMIT_ENABLED": "0", "SECRET_KEY": "bench-secret"}
    central = ServerProcess({"TRACKER_DB": str(work / "central.db"), **quiet}).start()
    node = ServerProcess(
        {
            "TRACKER_DB": str(work / "node.db"),
            "TRACKER_UPSTREAM": central.url,
            "TRACKER_NODE_TOKEN": token,
            "NODE_PULL_SECONDS": "1",
            **quiet,
            "SECRET_KEY": "the-node-has-its-own",
        }
    ).start()
    try:
        wait_for(
            lambda: get(node.url + "/healthz")["link"]["pulled_seconds_ago"] is not None,
            30,
            "the node's first pull",
        )
        # 1. A backlog of --records while central is down.
        central.stop()
        node_db = dbm.connect(work / "node.db")
        node_event = events.get_event(node_db)
        codes = [s["code"] for s in events.stations(node_db, node_event["id"])]

        def backlog() -> None:
            per_phone = len(codes) + 1  # the attendee, then one check-in per station
            for _ in range(args.records // per_phone):
                token_ = None
                for code in codes:
                    result = checkins.check_in(node_db, node_event, code, token_)
                    token_ = result.attendee["token"]

        def waiting() -> int:
            return int(get(node.url + "/healthz")["forward"]["waiting"])

        backlog()
        queued = waiting()
        central.start()
        # Timed from the first batch central takes (the node may still be backing off when
        # central comes back) to an empty outbox.
        wait_for(lambda: waiting() < queued, 60, "the first batch", every=0.01)
        started, left = time.monotonic(), waiting()
        wait_for(lambda: waiting() == 0, 600, "the backlog to drain", every=0.02)
        drained = time.monotonic() - started
        print(
            f"backlog: {queued:,} records queued; the last {left:,} forwarded in {drained:.2f} s",
            end="",
        )
        print(f" = {left / drained:,.0f} records/s")

        # 2. The delay from a check-in at the node to central's board, link up.
        delays = []
        for _ in range(args.samples):
            before = central_count(central)
            phone = requests.Session()
            sent = time.monotonic()
            answer = phone.post(
                node.url + "/api/checkins",
                json={"station": codes[0], "id": str(uuid.uuid4())},
                timeout=10,
            )
            assert answer.status_code == 201, answer.text
            wait_for(lambda b=before: central_count(central) > b, 30, "central", every=0.01)
            delays.append((time.monotonic() - sent) * 1000)
        cuts = statistics.quantiles(delays, n=20)
        print(
            f"node check-in to central's board: p50 {statistics.median(delays):.0f} ms,"
            f" p95 {cuts[18]:.0f} ms over {len(delays)} check-ins"
        )

        # 3. New check-ins while a backlog drains.
        central.stop()
        backlog()
        queued = waiting()
        central.start()
        wait_for(lambda: waiting() < queued, 60, "the first batch", every=0.01)
        pending: dict[str, float] = {}
        arrived: list[float] = []
        phone = requests.Session()
        watch = dbm.connect(work / "central.db")
        deadline = time.monotonic() + 600
        while (pending or waiting() > 0) and time.monotonic() < deadline:
            if waiting() > 0:
                checkin_id = str(uuid.uuid4())
                pending[checkin_id] = time.monotonic()
                answer = phone.post(
                    node.url + "/api/checkins",
                    json={"station": codes[0], "id": checkin_id},
                    timeout=10,
                )
                assert answer.status_code in (200, 201), answer.text
            found = (
                watch.execute(
                    f"SELECT uuid FROM checkins WHERE uuid IN ({', '.join('?' * len(pending))})",
                    list(pending),
                ).fetchall()
                if pending
                else []
            )
            for (checkin_id,) in found:
                arrived.append((time.monotonic() - pending.pop(checkin_id)) * 1000)
            time.sleep(0.05)
        cuts = statistics.quantiles(arrived, n=20) if len(arrived) > 1 else [0.0] * 19
        print(
            f"during a drain of {queued:,} records: a new check-in reached central in p50"
            f" {statistics.median(arrived):.0f} ms, p95 {cuts[18]:.0f} ms, max {max(arrived):.0f}"
            f" ms over {len(arrived)} check-ins ({len(pending)} never arrived)"
        )
    finally:
        node.stop(kill=True)
        central.stop(kill=True)


if __name__ == "__main__":
    main()
