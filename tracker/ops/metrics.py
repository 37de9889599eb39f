"""What a Prometheus scrapes from each server process (`GET /metrics`), through the
prometheus-client library: counters and a latency histogram that the web layer moves as requests
are answered, and gauges read from the database at each scrape (nodes, the alert outbox, the
WAL), so a figure is as of the scrape, never as of a report someone made long ago.

One registry per app (tests make many apps in one process); several server processes on one
file each answer for their own requests, and the database's figures are the same from each.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import closing

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..followups import alerts
from ..node import enrol
from ..store import db as dbm
from . import litestream

# Request latency buckets, in seconds: a check-in answers in milliseconds; an export may take
# seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The app's registry and the instruments the web layer moves."""

    def __init__(self, database: str, screens: Callable[[], int], max_attempts: int = 8):
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Histogram(
            "tracker_request_seconds",
            "Time to answer a request, by route and method.",
            ["route", "method"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.checkins = Counter(
            "tracker_checkins",
            "Check-in requests by result: new (201), repeat (200) or refused (any 4xx).",
            ["result"],
            registry=self.registry,
        )
        self.conversations = Counter(
            "tracker_conversations",
            "Conversation writes by result: created, replaced (edits, retries) or refused.",
            ["result"],
            registry=self.registry,
        )
        self.refusals = Counter(
            "tracker_refusals",
            "Requests refused by a rate limit (429) or as unavailable (503), by route.",
            ["route", "status"],
            registry=self.registry,
        )
        self.registry.register(_DatabaseCollector(database, screens, max_attempts))

    def text(self) -> bytes:
        """The Prometheus text exposition of everything above."""
        return generate_latest(self.registry)


class _DatabaseCollector(Collector):
    """Gauges read at scrape time: screens connected, each node's backlog and silence, the
    alert outbox, the WAL's size, the replica's state and lag."""

    def __init__(self, database: str, screens: Callable[[], int], max_attempts: int):
        self.database = database
        self.screens = screens
        self.max_attempts = max_attempts

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "tracker_screens_connected", "Big screens connected to this process.", self.screens()
        )
        wal = GaugeMetricFamily("tracker_wal_bytes", "Size of the database's write-ahead log.")
        try:
            wal.add_metric([], os.path.getsize(f"{self.database}-wal"))
        except OSError:
            wal.add_metric([], 0)
        yield wal
        if os.environ.get("TRACKER_REPLICA"):
            yield from _replication(self.database)
        with closing(dbm.connect(self.database)) as db:
            waiting = GaugeMetricFamily(
                "tracker_node_waiting",
                "Records a location node reported waiting to forward, at its last contact.",
                labels=["node", "location"],
            )
            silent = GaugeMetricFamily(
                "tracker_node_silent_seconds",
                "Seconds since central last heard from a location node.",
                labels=["node", "location"],
            )
            refused = GaugeMetricFamily(
                "tracker_node_refused", "Records central refused from a node.", labels=["node"]
            )
            for node in enrol.nodes(db, None):  # the node list's own figures, as of now
                if node["revoked_at"]:
                    continue
                labels = [str(node["id"]), node["location"]]
                waiting.add_metric(labels, node["reported_waiting"] or 0)
                age = node["silent_seconds"]
                silent.add_metric(labels, float("inf") if age is None else age)
                refused.add_metric([str(node["id"])], node["refused"])
            yield waiting
            yield silent
            yield refused
            outbox = GaugeMetricFamily(
                "tracker_alerts", "Alert notifications by state.", labels=["state"]
            )
            pending, given_up = alerts.pending(db, self.max_attempts)
            outbox.add_metric(["waiting"], pending)
            outbox.add_metric(["given_up"], given_up)
            yield outbox


def _replication(database: str) -> Iterator[Metric]:
    """The replica as the process supervising Litestream last saw it (tracker/ops/litestream.py):
    1 for its state of ok, degraded and down, and how far behind it is."""
    health = litestream.read_health(database)
    state = GaugeMetricFamily(
        "tracker_replication", "The replica's state: 1 for the current one.", labels=["state"]
    )
    for name in ("ok", "degraded", "down"):
        state.add_metric([name], 1 if health["state"] == name else 0)
    yield state
    if health["lag_seconds"] is not None:
        yield GaugeMetricFamily(
            "tracker_replica_lag_seconds",
            "Seconds since the replica last held every commit (about 1 when all is well).",
            health["lag_seconds"],
        )
