"""POST/PUT/GET /api/conversations: staff sessions and attendees log stories, idempotent by UUID.

Cross-site requests are refused by the JSON guard in tracker/web/__init__.py (Content-Type and
Origin); this module only parses, decides who the author is, and calls the domain.
"""

from __future__ import annotations

from uuid import UUID

from flask import Blueprint, current_app, jsonify, request

from ..actions import heard
from ..contract.errors import ErrorCode
from ..contract.requests import ConversationIn
from ..contract.responses import Badge
from ..event import lookups as events
from ..event.languages import supported
from ..people import attendees
from ..security import BADGE_ALPHABET, BADGE_LENGTH, normalize_badge
from ..store import db as dbm
from ..stories import edits as conversation_edits
from ..stories import record as conversations
from ..stories.record import Author
from .context import current_event, get_db, node_link
from .i18n import LANG_COOKIE, phone_language
from .identity import attendee_token, staff_name, staff_session_station
from .jsonapi import ApiError, json_error, read_json
from .ratelimit import story_limits

bp = Blueprint("api_conversations", __name__)

_ERRORS: list[tuple[type[Exception], int, ErrorCode]] = [
    (conversations.IdConflict, 409, ErrorCode.id_conflict),
    (conversations.NoLongerEditable, 409, ErrorCode.no_longer_editable),
    (conversations.UnknownBadge, 422, ErrorCode.unknown_badge),
    (conversations.UnknownTopic, 422, ErrorCode.unknown_topic),
    (conversations.NotAllowed, 422, ErrorCode.not_allowed),
    (conversations.NotCheckedIn, 403, ErrorCode.not_checked_in),
    (conversations.NotAuthor, 403, ErrorCode.not_author),
    (conversations.NotFound, 404, ErrorCode.not_found),
]


@bp.errorhandler(conversations.ConversationError)
def _domain_error(exc: conversations.ConversationError):
    if isinstance(exc, conversation_edits.EditConflict):
        detail = {"problem": str(exc), "stored": exc.stored}
        return json_error(409, ErrorCode.edit_conflict, detail)
    for kind, status, code in _ERRORS:
        if isinstance(exc, kind):
            return json_error(status, code, str(exc))
    return json_error(400, ErrorCode.bad_request, str(exc))


def _body(url_id: UUID | None = None) -> ConversationIn:
    return read_json(ConversationIn, current_app.config["MAX_CONTENT_LENGTH"], url_id)


def _station_by_code(code: str, event: dict) -> dict:
    try:
        return events.station_by_code(get_db(), code, event["id"])
    except events.UnknownStation:
        raise ApiError(404, ErrorCode.unknown_station, "no active station has that code") from None


def _author(event: dict, station_code: str | None) -> Author:
    """The staff session when it is for this station, else the attendee cookie, else 401/403.
    A session whose station was closed still syncs what its tablet captured."""
    own = staff_session_station()
    if own is not None and station_code in (None, own["code"]):
        return Author("staff", own["id"], staff_name=staff_name())
    attendee = attendees.by_token(get_db(), attendee_token(), event["id"])
    if attendee is not None and station_code:
        station = _station_by_code(station_code, event)
        return Author("attendee", station["id"], attendee_id=attendee["id"])
    if own is not None:
        _station_by_code(station_code or "", event)  # an unknown code is a 404, not a 403
        raise ApiError(
            403,
            ErrorCode.wrong_station,
            "you are signed in to another station; sign in to this one",
        )
    if attendee is not None and not station_code:
        # Valid JSON by the schema (staff may leave the station out), not for an attendee.
        raise ApiError(422, ErrorCode.not_allowed, "an attendee's story names its station")
    raise ApiError(
        401,
        ErrorCode.not_signed_in,
        "sign in at /staff, or check in at a station to tell your story",
    )


@bp.post("/api/conversations")
def create():
    """201 with the new record, or 200 with the stored one when this id was already recorded."""
    event = current_event()
    data = _body()
    author = _author(event, data.station)
    if author.source == "attendee":
        story_limits()
    _refuse_after_closing(data)
    db = get_db()
    with dbm.write(db):  # the story and the language it was told in, together
        stored, created = conversations.record(db, event, data, author)
        if author.source == "attendee":
            heard.told_in(db, str(data.id), _teller_language())
    return jsonify(stored), 201 if created else 200


def _teller_language() -> str | None:
    """The language an attendee's phone speaks (their choice on our pages, else its own): the
    language their story was told in, and so of what they hear back (tracker.actions.heard)."""
    return supported(request.cookies.get(LANG_COOKIE)) or phone_language()


def _caller(event: dict, uuid: UUID) -> Author:
    """The caller as an author of an existing conversation (for reading or editing it)."""
    recorded_by = conversations.author_of(get_db(), str(uuid))
    own = staff_session_station()
    if own is not None:
        return Author("staff", own["id"], staff_name=staff_name())
    attendee = attendees.by_token(get_db(), attendee_token(), event["id"])
    if attendee is not None:
        return Author("attendee", recorded_by.station_id, attendee_id=attendee["id"])
    raise ApiError(401, ErrorCode.not_signed_in, "sign in at /staff to see or edit conversations")


def _refuse_after_closing(data: ConversationIn) -> None:
    """A tablet signed in to a station an organizer has since closed syncs what it captured
    before the closing, and nothing captured after it (403 station_closed)."""
    own = staff_session_station()
    if own is None or (own["active"] and own["location_active"]):
        return
    closings = [t for t in (own["closed_at"], own["location_closed_at"]) if t]
    closed_at = min(closings) if closings else None
    captured = dbm.iso(data.captured_at) if data.captured_at else dbm.utcnow()
    if closed_at is None or captured > closed_at:
        raise ApiError(
            403,
            ErrorCode.station_closed,
            f"{own['name']} was closed by an organizer; log this at another station",
        )


def _id(text: str) -> UUID:
    """The conversation id from the URL; a malformed one is a 400 that says so."""
    try:
        return UUID(text)
    except ValueError:
        raise ApiError(400, ErrorCode.invalid_id, "the id in the URL must be a UUID") from None


@bp.put("/api/conversations/<conversation_id>")
def put(conversation_id: str):
    """Create (201) or replace (200) the conversation at this id (RFC 9110 PUT): what the
    outboxes send for every version. An older `revision` than the stored one changes nothing
    and gets the stored record back (200)."""
    uuid = _id(conversation_id)
    event = current_event()
    data = _body(uuid)
    if conversations.exists(get_db(), str(uuid)):
        author = _caller(event, uuid)
    else:
        author = _author(event, data.station)
        _refuse_after_closing(data)
    if author.source == "attendee":
        story_limits()
    db = get_db()
    with dbm.write(db):
        stored, outcome = conversation_edits.put(db, event, data, author)
        if author.source == "attendee":
            heard.told_in(db, str(uuid), _teller_language())
    return jsonify(stored), 201 if outcome == "created" else 200


@bp.get("/api/conversations/<conversation_id>")
def show(conversation_id: str):
    """One conversation, for its author (to fill the edit form)."""
    uuid = _id(conversation_id)
    event = current_event()
    author = _caller(event, uuid)
    return jsonify(conversations.get_for(get_db(), str(uuid), author))


@bp.get("/api/badges/<badge>")
def badge(badge: str):
    """Whether a badge typed or scanned on a staff device belongs to an attendee of the event:
    200 {"badge"}, 404 unknown, 400 not badge-shaped; staff sessions only."""
    if staff_session_station() is None:
        raise ApiError(401, ErrorCode.not_signed_in, "sign in at /staff to check badges")
    normal = normalize_badge(badge)
    if len(normal) != BADGE_LENGTH or not set(normal) <= set(BADGE_ALPHABET):
        raise ApiError(
            400,
            ErrorCode.not_a_badge,
            f"a badge code is {BADGE_LENGTH} letters and digits, e.g. ACD3F4",
        )
    event = current_event()
    try:
        found = attendees.by_badge(get_db(), event["id"], normal)
    except attendees.UnknownAttendee:
        # On a location node, someone only central has met: ask central (and keep them here).
        link = node_link()
        if link is None or not link.attendee_by_badge(event["id"], normal):
            return json_error(
                404, ErrorCode.unknown_badge, f"no attendee has the badge code {normal}"
            )
        found = attendees.by_badge(get_db(), event["id"], normal)
    return jsonify(Badge(badge=found["badge"]))
