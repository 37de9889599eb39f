"""The day's status at a glance, green, amber or red: database writes, disk space, each location
node's contact, backlog, clock and alarm, the alert outbox, held records, screens connected,
and replication where it runs. One list of checks for the console's status page and for the
alarms: every check that turns amber or red goes out once as an alert (through the alerts'
outbox), and once more when it is green again.

Thresholds are settings (README, Configuration): NODE_SILENT_SECONDS for a node not heard
from, with its oldest waiting record older than that too; DISK_FREE_MB for the database's disk.
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlite_utils import Database

from ..contract.sentences import N_, Sentence
from ..corrections import holds
from ..event import lookups
from ..followups import alerts
from ..node import central, enrol
from ..store import db as dbm
from ..store import settings
from ..store.db import Row
from . import litestream

log = logging.getLogger(__name__)
State = Literal["green", "amber", "red"]
STATES_KEY = "status_states"  # settings: the last state of each check, for the alarms
CLOCK_AMBER_SECONDS = 5.0


@dataclass(frozen=True)
class Check:
    """One line of the status page: `key` names it for the alarms, `label` names it for people,
    `detail` says what is seen, in one or more sentences. The page says them in the organizer's
    language; the alerts and the command line in English (`title`, `text`)."""

    key: str
    label: Sentence
    state: State
    detail: tuple[Sentence, ...]

    @property
    def title(self) -> str:
        return str(self.label)

    @property
    def text(self) -> str:
        return " ".join(map(str, self.detail))


def _check(key: str, label: Sentence, state: State, template: str, **values: Any) -> Check:
    return Check(key, label, state, (Sentence(template, values),))


DATABASE = Sentence(N_("Database writes"))
DISK = Sentence(N_("Disk space"))
OUTBOX = Sentence(N_("Alert outbox"))
HELD = Sentence(N_("Held records"))
SCREENS = Sentence(N_("Screens connected"))
REPLICATION = Sentence(N_("Replication"))


@dataclass(frozen=True)
class Limits:
    node_silent_seconds: float = 300.0
    disk_free_mb: float = 500.0
    max_attempts: int = 8

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        """NODE_SILENT_SECONDS, DISK_FREE_MB and ALERT_MAX_ATTEMPTS, as the app reads them."""
        return cls(
            node_silent_seconds=float(config["NODE_SILENT_SECONDS"]),
            disk_free_mb=float(config["DISK_FREE_MB"]),
            max_attempts=int(config.get("ALERT_MAX_ATTEMPTS") or 8),
        )


def checks(
    db: Database,
    event: Row,
    limits: Limits,
    database: str,
    screens: int | None = None,
    replication: Callable[[], Check | None] | None = None,
    now: datetime | None = None,
) -> list[Check]:
    """Every check, worst first within the page's order; nothing here writes but the health
    probe's one small row."""
    moment = now or datetime.now(UTC)
    found = [_database(db), _disk(database, limits)]
    if replication is not None:
        replicated = replication()
        if replicated is not None:
            found.append(replicated)
    found += _nodes(db, event["id"], limits, moment)
    found.append(_outbox(db, limits))
    found.append(_held(db, event["id"]))
    if screens is not None:
        found.append(
            _check("screens", SCREENS, "green", N_("%(screens)s to this server"), screens=screens)
        )
    return found


def _database(db: Database) -> Check:
    try:
        dbm.health(db)
    except sqlite3.Error as exc:
        return _check("database", DATABASE, "red", N_("a write failed: %(error)s"), error=str(exc))
    return _check("database", DATABASE, "green", N_("a write committed just now"))


def _disk(database: str, limits: Limits) -> Check:
    try:
        free = shutil.disk_usage(Path(database).resolve().parent).free / 1_000_000
    except OSError as exc:
        return _check("disk", DISK, "red", N_("cannot tell: %(error)s"), error=str(exc))
    state: State = "green"
    if free < limits.disk_free_mb:
        state = "red" if free < limits.disk_free_mb / 5 else "amber"
    return _check("disk", DISK, state, N_("%(free)s MB free beside the database"), free=round(free))


def _nodes(db: Database, event_id: int, limits: Limits, now: datetime) -> list[Check]:
    found = []
    for node in enrol.nodes(db, event_id, now):
        if node["revoked_at"]:
            continue
        key = f"node:{node['id']}"
        label = Sentence(
            N_("Node #%(node)s (%(location)s)"),
            {"node": node["id"], "location": node["location_name"]},
        )
        silent = node["silent_seconds"]
        oldest = node["reported_oldest_seconds"] or 0.0
        waiting = node["reported_waiting"] or 0
        clock = node["clock_offset_seconds"]
        if node["alarm"]:
            found.append(Check(key, label, "red", (central.alarm(node["alarm"]),)))
        elif silent is None:
            found.append(_check(key, label, "amber", N_("never heard from")))
        elif silent > limits.node_silent_seconds:
            found.append(
                _check(
                    key,
                    label,
                    "red",
                    N_("not heard from for %(minutes)s min (then %(waiting)s waiting)"),
                    minutes=int(silent // 60),
                    waiting=waiting,
                )
            )
        elif oldest > limits.node_silent_seconds:
            found.append(
                _check(
                    key,
                    label,
                    "amber",
                    N_("%(waiting)s waiting, the oldest %(minutes)s min"),
                    waiting=waiting,
                    minutes=round(oldest / 60),
                )
            )
        elif clock is not None and abs(clock) > CLOCK_AMBER_SECONDS:
            found.append(
                _check(
                    key,
                    label,
                    "amber",
                    N_("its clock is %(offset)s s off (corrected)"),
                    offset=f"{clock:+.0f}",
                )
            )
        else:
            found.append(
                _check(
                    key,
                    label,
                    "green",
                    N_("heard from %(seconds)s s ago, %(waiting)s waiting"),
                    seconds=silent,
                    waiting=waiting,
                )
            )
    return found


def _outbox(db: Database, limits: Limits) -> Check:
    waiting, given_up = alerts.pending(db, limits.max_attempts)
    state: State = "red" if given_up else "amber" if waiting > 50 else "green"
    return _check(
        "alerts",
        OUTBOX,
        state,
        N_("%(waiting)s waiting, %(given_up)s given up"),
        waiting=waiting,
        given_up=given_up,
    )


def _held(db: Database, event_id: int) -> Check:
    rows = holds.held(db, event_id)
    count = sum(int(r["held"]) for r in rows)
    if not count:
        return _check("held", HELD, "green", N_("none"))
    return _check(
        "held",
        HELD,
        "amber",
        N_("%(held)s held from %(addresses)s address(es): see Today"),
        held=count,
        addresses=len(rows),
    )


def alarm(
    db: Database, found: list[Check], settings_: alerts.Settings, now: str | None = None
) -> int:
    """Queue one alert for each check that turned amber or red since the last pass, and one when
    it is green again; how many alerts were queued. The states are kept in `settings`."""
    now = now or dbm.utcnow()
    with dbm.write(db):
        before = json.loads(settings.get(db, STATES_KEY) or "{}")
        current = {c.key: c.state for c in found}
        queued = 0
        for check in found:
            was = before.get(check.key, "green")
            if check.state == was:
                continue
            if check.state == "green":
                subject = f"Recovered: {check.title}"
            else:
                subject = f"{check.state.upper()}: {check.title}"
            body = f"{subject}\n{check.text}\n(tracker's status page: /admin/status)"
            queued += alerts.queue_notification(db, settings_, subject, body, now)
        settings.put(db, STATES_KEY, json.dumps(current, sort_keys=True))
    return queued


class Watch:
    """The server's task: every WATCH_SECONDS, the checks and their alarms. Several server
    processes on one file may all run it: the states are read and written in one write
    transaction, so a change alarms once."""

    WATCH_SECONDS = 15.0

    def __init__(
        self,
        config: Mapping[str, Any],
        screens: Callable[[], int],
        replication: Callable[[], Check | None] | None = None,
    ):
        self.config = config
        self.screens = screens
        self.replication = replication
        self.started = False

    def once(self) -> list[Check]:
        db = dbm.thread_db(self.config["DATABASE"], self.config["SYNCHRONOUS"])
        event = lookups.get_event(db, self.config.get("EVENT"))
        limits = Limits.from_config(self.config)
        found = checks(
            db, event, limits, str(self.config["DATABASE"]), self.screens(), self.replication
        )
        alarm(db, found, alerts.Settings.from_config(self.config))
        return found

    def run(self) -> None:
        while True:
            try:
                self.once()
            except Exception as exc:  # no event yet, a locked database: the next round tries again
                dbm.forget_if_broken(exc)
                log.exception("status: a round failed")
            time.sleep(self.WATCH_SECONDS)

    def start(self) -> None:
        """In the serving process (gevent, monkey-patched) this thread is a greenlet."""
        if not self.started:
            self.started = True
            threading.Thread(target=self.run, daemon=True).start()


def replication_check(database: str) -> Callable[[], Check | None]:
    """The replica's check, from what the process supervising Litestream last wrote."""

    def check() -> Check:
        health = litestream.read_health(database)
        state: State = {"ok": "green", "degraded": "amber"}.get(health["state"], "red")  # type: ignore[assignment]
        return Check("replication", REPLICATION, state, litestream.describe(health))

    return check
