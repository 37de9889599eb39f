"""The JSON API's errors: one list of codes, each with its HTTP status, and one shape."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict


class ErrorCode(StrEnum):
    """Every `error` code of the JSON API, with its HTTP status; /openapi.json lists them."""

    invalid_body = "invalid_body"  # 400: not JSON, or breaks a rule; detail lists each field
    invalid_id = "invalid_id"  # 400: the id in the URL is not a UUID
    id_mismatch = "id_mismatch"  # 422: the body's id is not the URL's
    not_a_badge = "not_a_badge"  # 400: not shaped like a badge code
    bad_request = "bad_request"  # 400: any other malformed request
    not_signed_in = "not_signed_in"  # 401
    forbidden_origin = "forbidden_origin"  # 403: a cross-site write
    wrong_station = "wrong_station"  # 403: a staff session of another station
    station_closed = "station_closed"  # 403: captured after an organizer closed the station
    not_checked_in = "not_checked_in"  # 403: an attendee's story where they never checked in
    not_author = "not_author"  # 403: someone else's conversation
    forbidden = "forbidden"  # 403: any other refusal
    not_found = "not_found"  # 404: no such record or page
    unknown_station = "unknown_station"  # 404: no active station has that code
    unknown_location = "unknown_location"  # 404
    unknown_badge = "unknown_badge"  # 404 on /api/badges, 422 in a conversation
    method_not_allowed = "method_not_allowed"  # 405
    request_timeout = "request_timeout"  # 408: the body did not arrive in time
    id_conflict = "id_conflict"  # 409 (conversations) or 422 (check-ins): the id is taken
    no_longer_editable = "no_longer_editable"  # 409: past the end of its local day
    edit_conflict = (
        "edit_conflict"  # 409: made from an older version; detail.stored is the server's
    )
    upgrade_required = "upgrade_required"  # 409: a node speaking another node protocol
    node_alarm = "node_alarm"  # 409: a node back on another or older file, until accepted
    body_too_large = "body_too_large"  # 413
    unsupported_media_type = "unsupported_media_type"  # 415: not application/json
    unknown_topic = "unknown_topic"  # 422: not one of the event's topics
    not_allowed = "not_allowed"  # 422: a field this author may not set
    too_many_requests = "too_many_requests"  # 429, with Retry-After
    internal_error = "internal_error"  # 500
    database_unavailable = "database_unavailable"  # 503, with Retry-After
    unavailable = "unavailable"  # 503: too busy for this address now, with Retry-After


@with_config(ConfigDict(extra="forbid"))
class Error(TypedDict):
    """Every error of the JSON API."""

    error: ErrorCode
    detail: Annotated[
        str | list[Any] | dict[str, Any], Field(description="what is wrong, for people")
    ]
