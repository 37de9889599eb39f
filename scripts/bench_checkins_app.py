"""The production app plus the routes that exist only for the benchmark, to compare with.

Served by the same gunicorn command as production; never imported by the tracker package.
"""

from __future__ import annotations

import uuid

from flask import request

from tracker import create_app
from tracker.contract.requests import CheckinIn
from tracker.store import db as dbm
from tracker.web.api_checkins import CHECKIN_BODY_BYTES
from tracker.web.context import get_db
from tracker.web.jsonapi import read_json
from tracker.web.ratelimit import checkin_limits

app = create_app()


@app.post("/api/bench-noop")
def bench_noop():
    """Does nothing but answer: the cost of Flask, gunicorn and the JSON guard alone."""
    return {"ok": True}


@app.post("/api/bench-guards")
@checkin_limits
def bench_guards():
    """What POST /api/checkins does before it touches the database, and nothing after: its two
    rate limits and the validation of its body. The floor of any check-in that keeps them."""
    body = read_json(CheckinIn, CHECKIN_BODY_BYTES)
    return {"ok": True, "station": body.station}


@app.post("/api/bench-insert")
def bench_insert():
    """One plain sqlite-utils insert per request, the usual way (table introspection included)."""
    body = request.get_json()
    get_db()["bench_inserts"].insert(
        {
            "uuid": body.get("id") or str(uuid.uuid4()),
            "station": body.get("station"),
            "at": dbm.utcnow(),
        }
    )
    return {"ok": True}, 201
