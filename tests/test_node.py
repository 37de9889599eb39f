"""Location nodes, in process: enrolment (tokens stored as hashes), and central's apply of a
node's batch: in order, idempotent by id, counted by central's own rule."""

from __future__ import annotations

import uuid

import pytest

from tracker.checkins import record as checkins
from tracker.node import central, enrol
from tracker.people import attendees


def test_a_token_is_stored_only_as_its_hash_and_a_revoked_one_is_refused(db, event):
    node, token = enrol.add(db, event, "cork")
    assert len(token) >= 43
    stored = [r[0] for r in db.execute("SELECT token_hash FROM nodes")]
    assert stored == [enrol.token_hash(token)] and token not in stored
    assert enrol.authenticate(db, token)["location_slug"] == "cork"
    enrol.revoke(db, event, node["id"])
    with pytest.raises(enrol.NodeRefused):
        enrol.authenticate(db, token)
    with pytest.raises(enrol.UnknownLocation):
        enrol.add(db, event, "nowhere")


def _checkin(station: dict, token: str, badge: str) -> dict:
    return {
        "kind": "checkin",
        "uuid": str(uuid.uuid4()),
        "station_id": station["id"],
        "scanned_at": "2026-10-07T10:00:00.000Z",
        "received_at": "2026-10-07T10:00:00.000Z",
        "rehearsal": 0,
        "attendee": {"token": token, "badge": badge, "created_at": "2026-10-07T10:00:00.000Z"},
    }


def test_a_batch_again_changes_nothing_and_a_second_first_visit_is_a_repeat(db, event):
    node, token = enrol.add(db, event, "cork")
    node = enrol.authenticate(db, token)
    booth = event["stations"]["booth"]
    # The phone checked in at central first (central made its cookie token) ...
    at_central = checkins.check_in(db, event, booth["code"], None)
    phone = at_central.attendee["token"]
    # ... and at the node, which saw a "first" visit too.
    batch = [_checkin(booth, phone, attendees.badge_for(phone)), _checkin(booth, "t-2", "KKKKKK")]
    assert central.apply_records(db, node, batch)["applied"] == 2
    assert central.apply_records(db, node, batch)["applied"] == 2  # again: nothing changes
    counted = dict(db.execute("SELECT uuid, counted FROM checkins").fetchall())
    assert len(counted) == 3
    assert counted[batch[0]["uuid"]] == 0  # the second "first" of that phone: a repeat
    assert counted[batch[1]["uuid"]] == 1
    (total,) = db.execute(
        "SELECT checkins FROM station_totals WHERE station_id = ?", [booth["id"]]
    ).fetchone()
    assert total == 2


def test_a_node_may_send_only_its_own_locations_records(db, event):
    _, token = enrol.add(db, event, "cork")
    node = enrol.authenticate(db, token)
    elsewhere = event["stations"]["stories"]  # Austin's
    answer = central.apply_records(db, node, [_checkin(elsewhere, "t-9", "MMMMMM")])
    assert answer["applied"] == 0 and answer["refused"] == [0]
    assert answer["results"][0]["reason"] == "wrong_location"
    assert db.execute("SELECT count(*) FROM checkins").fetchone()[0] == 0
