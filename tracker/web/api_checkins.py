"""POST /api/checkins: the attendee's phone reports a scan; the first one per station counts."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from pydantic import BaseModel, ValidationError

from .. import checkins, events
from ..schemas import CheckinIn
from . import ApiError, current_event, get_db, json_error, validation_problems
from .identity import attendee_token, set_attendee_cookie
from .ratelimit import checkin_limits

bp = Blueprint("api_checkins", __name__)

CHECKIN_BODY_BYTES = 2048  # a check-in is two short fields; anything bigger is not one


def parse_json(model: type[BaseModel], max_bytes: int) -> BaseModel:
    """Validate the JSON body with `model`; a too-large body is refused (ApiError 413), not cut
    and parsed; any other refusal is an ApiError 400."""
    length = request.content_length
    if length is not None and length > max_bytes:
        raise _too_large(max_bytes)
    try:
        data = _read_body(length, max_bytes)
    except OSError:  # the phone's connection broke mid-body
        raise ApiError(
            400, "invalid_body", "the body was cut off on the way; send it again"
        ) from None
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        raise ApiError(400, "invalid_body", validation_problems(exc)) from None


def _too_large(max_bytes: int) -> ApiError:
    return ApiError(413, "body_too_large", f"the body may be at most {max_bytes} bytes")


def _read_body(length: int | None, max_bytes: int) -> bytes:
    """Exactly what Content-Length announced, in one read; a chunked body until its end or one
    byte past the cap, whichever comes first."""
    if length is not None:
        return request.environ["wsgi.input"].read(length)
    data = b""
    while len(data) <= max_bytes:
        chunk = request.stream.read(max_bytes + 1 - len(data))
        if not chunk:
            break
        data += chunk
    return data


@bp.post("/api/checkins")
@checkin_limits
def create_checkin():
    body = parse_json(CheckinIn, CHECKIN_BODY_BYTES)
    event = current_event()
    db = get_db()
    try:
        result = checkins.check_in(
            db, event, body.station, attendee_token(), body.id, client_ip=request.remote_addr
        )
    except events.UnknownStation:
        return json_error(404, "unknown_station", "No active station has that code.")
    except checkins.IdConflict as exc:
        return json_error(422, "id_conflict", str(exc))
    response = jsonify(checkins.summary(result))
    response.status_code = 201 if result.created else 200
    response.headers["Cache-Control"] = "no-store"
    if result.new_identity:
        set_attendee_cookie(response, result.attendee["token"])
    return response
