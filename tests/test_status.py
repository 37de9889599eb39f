"""The status page and its alarms: a silent node turns red, raises one alert and, once heard
from again, one recovery; the page shows every check, each with its state in words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tracker.followups import alerts
from tracker.node import enrol
from tracker.ops import status
from tracker.store import db as dbm

NOW = datetime(2026, 10, 7, 12, 0, tzinfo=UTC)


def seen(db, node_id: int, at: datetime) -> None:
    with dbm.write(db):
        db.execute("UPDATE nodes SET last_seen_at = ? WHERE id = ?", [dbm.iso(at), node_id])


def subjects(db) -> list[str]:
    return [r[0] for r in db.execute("SELECT subject FROM notifications ORDER BY id")]


def test_a_silent_node_raises_one_alert_and_one_recovery(db, event, db_path):
    node, _ = enrol.add(db, event, "cork")
    limits = status.Limits(node_silent_seconds=300)
    channels = alerts.Settings(webhook_url="http://127.0.0.1:9/hook")

    def run(at: datetime) -> list[status.Check]:
        found = status.checks(db, event, limits, str(db_path), now=at)
        status.alarm(db, found, channels)
        return found

    seen(db, node["id"], NOW)
    assert {c.key: c.state for c in run(NOW + timedelta(seconds=60))}[
        f"node:{node['id']}"
    ] == "green"
    assert subjects(db) == []
    for minutes in (6, 7, 9):  # silent past the threshold: red, alerted once
        found = run(NOW + timedelta(minutes=minutes))
    node_check = next(c for c in found if c.key == f"node:{node['id']}")
    assert node_check.state == "red" and "not heard from for 9 min" in node_check.text
    assert subjects(db) == ["RED: Node #1 (Cork)"]
    seen(db, node["id"], NOW + timedelta(minutes=10))
    run(NOW + timedelta(minutes=10, seconds=5))
    run(NOW + timedelta(minutes=11))
    assert subjects(db) == ["RED: Node #1 (Cork)", "Recovered: Node #1 (Cork)"]


def test_the_status_page_says_each_state_in_words(admin, db, event):
    enrol.add(db, event, "cork")  # never heard from: amber
    page = admin.get("/admin/status").get_data(as_text=True)
    assert "Database writes" in page and "Disk space" in page and "Alert outbox" in page
    assert "never heard from" in page and 'state-amber">amber<' in page


def test_replication_down_is_red_and_alarmed_once(db, event, db_path, tmp_path):
    """The replica's check reads what the supervisor of Litestream last wrote: nothing written
    (no server supervises it) is red, and it is alarmed once."""
    limits = status.Limits()
    channels = alerts.Settings(webhook_url="http://127.0.0.1:9/hook")
    replica = status.replication_check(str(tmp_path / "nowhere.db"))
    for _ in range(3):
        found = status.checks(db, event, limits, str(db_path), replication=replica)
        status.alarm(db, found, channels)
    check = next(c for c in found if c.key == "replication")
    assert check.state == "red" and "DOWN" in check.text
    assert subjects(db) == ["RED: Replication"]
