"""Socket.IO /live against real server processes, with real python-socketio clients.

Writes come from outside the server on purpose: over HTTP, from this test process, from a plain
sqlite3 script in another process, through a second server. The watcher must notice them all.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
import socketio

from tracker.contract.requests import ConversationIn
from tracker.event import lookups as events
from tracker.store import db as dbm
from tracker.stories import record as conversations

from .conftest import SMALL_EVENT, LiveServer
from .helpers import add_checkins, database_with

pytestmark = pytest.mark.live


class Screen:
    """A board as the server sees it: a websocket-only client that keeps every snapshot."""

    def __init__(self, url: str, location: str | None = None):
        self.snaps: list[dict] = []
        self.cond = threading.Condition()
        self.client = socketio.Client(reconnection=False)
        self.client.on("scoreboard", self._got, namespace="/live")
        self.client.connect(
            url,
            namespaces=["/live"],
            transports=["websocket"],
            auth={"location": location} if location else None,
            wait_timeout=10,
        )

    def _got(self, snap: dict) -> None:
        with self.cond:
            self.snaps.append(snap)
            self.cond.notify_all()

    def wait_for(self, check: Callable[[dict], bool], timeout: float = 10.0) -> dict:
        """The first snapshot (old or new) that passes `check`, or fail after `timeout`."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for snap in self.snaps:
                    if check(snap):
                        return snap
                left = deadline - time.monotonic()
                if left <= 0:
                    last = self.snaps[-1]["total"] if self.snaps else None
                    raise AssertionError(f"no matching snapshot in {timeout}s (last total {last})")
                self.cond.wait(left)

    def first(self) -> dict:
        """The snapshot sent on connect."""
        return self.wait_for(lambda s: True)

    def count(self) -> int:
        with self.cond:
            return len(self.snaps)

    def close(self) -> None:
        self.client.disconnect()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """One server on one database for this module; tests look at changes, not absolute totals."""
    path = tmp_path_factory.mktemp("live") / "tracker.db"
    db, event = database_with(path, SMALL_EVENT)
    event["stations"] = {s["slug"]: s for s in events.stations(db, event["id"])}
    server = LiveServer(path, {"RATELIMIT_ENABLED": "0"}).start()
    yield {"server": server, "db": db, "event": event, "path": path}
    server.stop(kill=True)  # nothing to drain: the module is over
    db.close()


@pytest.fixture
def screen(site):
    screens: list[Screen] = []

    def make(location: str | None = None, url: str | None = None) -> Screen:
        s = Screen(url or site["server"].url, location)
        screens.append(s)
        return s

    yield make
    for s in screens:
        s.close()


def station(site, slug: str) -> dict:
    return site["event"]["stations"][slug]


def test_a_screen_gets_the_full_snapshot_on_connect(site, screen):
    board = screen()
    snap = board.wait_for(lambda s: True)
    api = requests.get(site["server"].url + "/api/scoreboard", timeout=5).json()
    assert snap["total"] == api["total"] and snap["locations"] == api["locations"]
    assert snap["event"]["slug"] == "test-day" and snap["location"] is None


def test_a_checkin_over_http_reaches_the_screen(site, screen):
    board = screen()
    before = board.first()["total"]
    r = requests.post(
        site["server"].url + "/api/checkins",
        json={"station": station(site, "booth")["code"]},
        timeout=5,
    )
    assert r.status_code == 201
    snap = board.wait_for(lambda s: s["total"] == before + 1)
    cork = next(loc for loc in snap["locations"] if loc["slug"] == "cork")
    assert any(st["slug"] == "booth" and st["total"] >= 1 for st in cork["stations"])


def test_a_conversation_reaches_the_screen_with_its_public_story(site, screen):
    board = screen()
    before = board.first()
    story = f"The support team fixed it live {uuid.uuid4().hex[:6]}"
    conversations.record(
        site["db"],
        site["event"],
        ConversationIn(
            id=uuid.uuid4(),
            station=station(site, "stories")["code"],
            story=story,
            nps=10,
            public=True,
        ),
        conversations.Author(source="staff", station_id=station(site, "stories")["id"]),
    )
    snap = board.wait_for(lambda s: s["conversations"] == before["conversations"] + 1)
    assert snap["recent"][0]["story"] == story
    assert snap["nps"]["promoters"] == before["nps"]["promoters"] + 1


def test_a_burst_of_1000_checkins_becomes_a_handful_of_emits(site, screen):
    board = screen()
    before = board.first()["total"]
    seen = board.count()
    for _ in range(1000):  # 1,000 separate commits, as 1,000 phones would make
        add_checkins(site["db"], station(site, "demo")["id"])
    last = board.wait_for(lambda s: s["total"] == before + 1000)
    # The burst's last change is in `last`: every emit it caused came before it, on one socket.
    emits = board.snaps.index(last) + 1 - seen
    assert 1 <= emits < 30, emits


def test_a_commit_that_changes_nothing_on_the_board_sends_nothing(site, screen):
    board = screen()
    board.first()
    seen = board.count()
    total = board.snaps[seen - 1]["total"]
    with dbm.write(site["db"]):
        site["db"].execute(
            "INSERT OR REPLACE INTO settings (key, value) VALUES ('unrelated', ?)", [time.time()]
        )
    # A screen that connects now is served by a poll that has seen that commit: once it has
    # its snapshot, whatever that poll sent the board's room is on its way, ahead of the next.
    screen().first()
    add_checkins(site["db"], station(site, "booth")["id"])
    after = board.wait_for(lambda s: s["total"] == total + 1)
    assert board.snaps[seen:] == [after]  # the check-in's snapshot, and nothing before it


def test_screens_join_a_location_room(site, screen):
    board = screen()
    board.first()
    ack = board.client.call("join", {"location": "austin"}, namespace="/live", timeout=5)
    assert ack == {"ok": True, "location": "austin"}
    austin = board.wait_for(lambda s: (s["location"] or {}).get("slug") == "austin")
    assert [st["slug"] for st in austin["location"]["stations"]] == ["stories"]
    add_checkins(site["db"], station(site, "stories")["id"])
    board.wait_for(
        lambda s: (
            s["location"]
            and s["location"]["slug"] == "austin"
            and s["location"]["total"] == austin["location"]["total"] + 1
        )
    )
    bad = board.client.call("join", {"location": "atlantis"}, namespace="/live", timeout=5)
    assert bad["error"] == "unknown_location" and "atlantis" in bad["detail"]
    bad = board.client.call("join", ["cork"], namespace="/live", timeout=5)
    assert bad["error"] == "bad_request"
    back = board.client.call("join", {"location": None}, namespace="/live", timeout=5)
    assert back == {"ok": True, "location": None}


def test_a_screen_may_ask_for_its_location_when_it_connects(site, screen):
    cork = screen(location="cork")
    assert cork.wait_for(lambda s: True)["location"]["slug"] == "cork"
    with pytest.raises(socketio.exceptions.ConnectionError):
        screen(location="atlantis")


def test_two_server_processes_on_one_file_feed_each_others_screens(site, screen):
    second = LiveServer(site["path"], {"RATELIMIT_ENABLED": "0"}).start()
    try:
        board = screen(url=second.url)  # the screen is on the second process
        before = board.first()["total"]
        r = requests.post(  # the phone reaches the first
            site["server"].url + "/api/checkins",
            json={"station": station(site, "stories")["code"]},
            timeout=5,
        )
        assert r.status_code == 201
        board.wait_for(lambda s: s["total"] == before + 1)
        board.close()
    finally:
        second.stop(kill=True)  # nothing to drain: the test is over


PLAIN_WRITER = """
import sqlite3, sys, uuid
conn = sqlite3.connect(sys.argv[1], timeout=5)
with conn:
    now = "2026-10-07T10:00:00.000Z"
    who = conn.execute(
        "INSERT INTO attendees (event_id, token, badge, created_at) VALUES (?, ?, ?, ?)",
        [int(sys.argv[2]), uuid.uuid4().hex, uuid.uuid4().hex[:10].upper(), now],
    ).lastrowid
    conn.execute(
        "INSERT INTO checkins (uuid, station_id, attendee_id, counted, scanned_at, received_at)"
        " VALUES (?, ?, ?, 1, ?, ?)",
        [str(uuid.uuid4()), int(sys.argv[3]), who, now, now],
    )
"""


def test_a_write_from_a_plain_python_process_moves_the_board(site, screen):
    board = screen()
    before = board.first()["total"]
    subprocess.run(
        [
            sys.executable,
            "-c",
            PLAIN_WRITER,
            str(site["path"]),
            str(site["event"]["id"]),
            str(station(site, "booth")["id"]),
        ],
        check=True,
        timeout=20,
        cwd=Path(__file__).parent,
    )
    board.wait_for(lambda s: s["total"] == before + 1)


def test_many_screens_in_two_rooms_all_get_the_update(site, screen):
    boards = [screen() for _ in range(6)] + [screen(location="cork") for _ in range(4)]
    befores = [b.first()["total"] for b in boards]
    add_checkins(site["db"], station(site, "demo")["id"])
    for b, before in zip(boards, befores, strict=True):
        b.wait_for(lambda s, before=before: s["total"] == before + 1)
