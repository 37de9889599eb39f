"""Logs that tell a story: one line per significant event, JSON when asked, with no personal
data."""

from __future__ import annotations

import json
import logging
import uuid

from tracker.node import central, enrol
from tracker.store.logs import FIELDS, JsonLines

AT = "2026-10-07T10:00:00.000Z"


def test_a_node_batch_is_one_json_line_without_personal_data(db, event, caplog):
    _, token = enrol.add(db, event, "cork")
    node = enrol.authenticate(db, token)
    good = {"kind": "checkin", "uuid": str(uuid.uuid4()), "station_id": event["stations"]["booth"]["id"],
            "scanned_at": AT, "received_at": AT,
            "attendee": {"token": "secret-token-1", "badge": "KKKKKK", "created_at": AT}}  # fmt: skip
    story = {"kind": "conversation", "uuid": str(uuid.uuid4()), "station_id": 999,
             "source": "staff", "story": "Ann Example's private words", "captured_at": AT,
             "received_at": AT}  # fmt: skip
    with caplog.at_level(logging.INFO, logger="tracker.node.central"):
        central.apply_records(db, node, [good, story])
    (record,) = [r for r in caplog.records if getattr(r, FIELDS, {}).get("event") == "node.batch"]
    line = json.loads(JsonLines().format(record))
    assert line["event"] == "node.batch" and line["node"] == node["id"]
    assert (line["applied"], line["refused"], line["reasons"]) == (1, 1, "wrong_location")
    text = JsonLines().format(record)
    assert "secret-token-1" not in text and "private words" not in text and "Ann" not in text
