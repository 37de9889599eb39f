"""The status page and its alarms: a silent node turns red, raises one alert and, once heard
from again, one recovery; the page shows every check, each with its state in words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tracker.followups import alerts
from tracker.node import central, enrol, protocol
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


def test_the_status_page_and_a_node_alarm_speak_the_organizers_language(admin, db, event):
    """#27: the checks' names, what they see and a node's alarm are said in German on a German
    console, with German digits, while the alert that goes out stays English."""
    node, _ = enrol.add(db, event, "cork")
    with dbm.write(db):  # central had acknowledged 1,500 records; the node came back with 20
        db.execute("UPDATE nodes SET file_id = 'a', sequence = 1500 WHERE id = ?", [node["id"]])
    with pytest.raises(central.NodeAlarm, match="older copy of its file"):
        central.check_in_node(
            db,
            enrol.get(db, node["id"]),
            {
                protocol.PROTOCOL_HEADER: str(protocol.PROTOCOL),
                protocol.FILE_HEADER: "a",
                protocol.FORWARDED_HEADER: "20",
            },
        )
    german = {"Accept-Language": "de-DE,de;q=0.9"}
    page = admin.get("/admin/status", headers=german).get_data(as_text=True)
    assert "Schreiben in die Datenbank" in page and "MB frei neben der Datenbank" in page
    assert "Knoten #1 (Cork)" in page and "älteren Kopie seiner Datei" in page
    assert "1.500" in page  # the acknowledged count, in German digits
    assert "older copy" not in page and "Database writes" not in page
    dashboard = admin.get("/admin/", headers=german).get_data(as_text=True)
    assert "älteren Kopie seiner Datei" in dashboard and "older copy" not in dashboard
    # The alarm that goes out, and what the node is told, stay English.
    found = status.checks(db, event, status.Limits(), ":memory:")
    status.alarm(db, found, alerts.Settings(webhook_url="http://127.0.0.1:9/hook"))
    assert "RED: Node #1 (Cork)" in subjects(db)
