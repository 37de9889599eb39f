"""POST /api/checkins: the attendee's phone reports a scan; the first one per station counts."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..checkins import record as checkins
from ..contract.errors import ErrorCode
from ..contract.requests import CheckinIn
from ..event import lookups as events
from .context import current_event, get_db
from .identity import attendee_token, set_attendee_cookie
from .jsonapi import json_error, read_json
from .ratelimit import checkin_limits

bp = Blueprint("api_checkins", __name__)

CHECKIN_BODY_BYTES = 2048  # a check-in is two short fields; anything bigger is not one


@bp.post("/api/checkins")
@checkin_limits
def create_checkin():
    body = read_json(CheckinIn, CHECKIN_BODY_BYTES)
    event = current_event()
    db = get_db()
    try:
        result = checkins.check_in(
            db, event, body.station, attendee_token(), body.id, client_ip=request.remote_addr
        )
    except events.UnknownStation:
        return json_error(404, ErrorCode.unknown_station, "no active station has that code")
    except checkins.IdConflict as exc:
        return json_error(422, ErrorCode.id_conflict, str(exc))
    response = jsonify(checkins.summary(result))
    response.status_code = 201 if result.created else 200
    response.headers["Cache-Control"] = "no-store"
    if result.new_identity:
        set_attendee_cookie(response, result.attendee["token"])
    return response
