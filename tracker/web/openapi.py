"""GET /openapi.json: the JSON API described for people and tools (tests hold it to the code)."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import Blueprint, jsonify
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from ..schemas import CheckinIn, ConversationIn

bp = Blueprint("openapi", __name__)


# Response bodies. The check-in ones are exact (extra="forbid"): a test validates real answers
# with them, so a field added in the code and not here fails. The others allow more fields:
# clients must ignore fields they do not know.
class _Exact(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class StationRef(_Exact):
    slug: str
    name: str
    location: str = Field(description="the location's name")
    location_slug: str


class Checkin(_Exact):
    id: str = Field(description="the check-in's UUID (client-made or given by the server)")
    station: StationRef
    counted: bool = Field(description="true only for the attendee's first check-in here")
    scanned_at: str
    received_at: str


class PassportStation(_Exact):
    slug: str
    name: str
    location: str
    location_slug: str
    first_at: str
    visits: int


class Passport(_Exact):
    badge: str = Field(description="short code staff type or scan to tie a story to this person")
    name: str | None
    visited: int
    stations: list[PassportStation]
    stories: int = Field(description="stories this attendee told on their own phone")


class Progress(_Exact):
    total: int = Field(description="engagements counted toward the goal")
    goal: int
    checkins: int
    conversations: int
    percent: float


class CheckinOut(_Exact):
    checkin: Checkin
    counted: bool
    passport: Passport
    progress: Progress


class Error(_Exact):
    error: str = Field(description="a short machine-readable code, e.g. unknown_station")
    detail: str | list | dict = Field(description="what is wrong, for people")


class Conversation(_Open):
    id: str
    reference: str = Field(description='short reference shown to the customer, e.g. "T-1042"')
    source: str
    story: str
    nps: int | None = None
    follow_up: bool = False
    public: bool = Field(default=False, description="the teller allows it on public screens")
    approval: str = Field(
        default="pending",
        description="pending, approved or rejected by an organizer: a story shows on screens"
        " only when public and approved",
    )
    counted: bool = Field(
        default=True,
        description="adds to the goal and the NPS: every staff conversation, an attendee's"
        " first story at a station",
    )
    revision: int = Field(default=1, description="the stored version of the record")
    captured_at: str
    received_at: str


class Nps(_Open):
    score: int | None
    promoters: int
    passives: int
    detractors: int
    responses: int


class BoardStation(_Open):
    slug: str
    name: str
    total: int


class BoardLocation(_Open):
    slug: str
    name: str
    country: str
    timezone: str
    total: int
    stations: list[BoardStation]


class Story(_Open):
    story: str
    station: str
    location: str
    at: str


class EventRef(_Open):
    slug: str
    name: str
    goal: int


class Scoreboard(_Open):
    """The snapshot big screens show; station codes never appear in it."""

    event: EventRef
    total: int
    checkins: int
    conversations: int
    nps: Nps
    milestones: list[int]
    locations: list[BoardLocation]
    recent: list[Story]
    updated_at: str


class Health(_Open):
    status: str
    schema_version: int
    database: str


MODELS: list[type[BaseModel]] = [
    CheckinIn,
    ConversationIn,
    CheckinOut,
    Conversation,
    Scoreboard,
    Health,
    Error,
]


def _ref(model: type[BaseModel]) -> dict:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(model: type[BaseModel], description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def _errors(*codes: int) -> dict:
    what = {
        400: "the body is not valid JSON or breaks a rule; detail lists each field",
        401: "not signed in (no staff session and no attendee cookie)",
        403: "not allowed, or the request came from another site",
        404: "no such station, location or record",
        409: "conflict with what is stored",
        413: "the body is too large",
        415: "the body is not sent as application/json",
        422: "the id was already used for something else, or the request is not allowed",
        429: "too many requests; wait and try again",
        503: "the database cannot be written",
    }
    return {str(code): _json(Error, what[code]) for code in codes}


_UUID_PATH = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "format": "uuid"},
}


@cache
def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document; request schemas come from the very models that validate."""
    _, defs = models_json_schema(
        [(m, "validation") for m in MODELS], ref_template="#/components/schemas/{model}"
    )
    json_body = "application/json"
    anyone: list[dict[str, list]] = [{}, {"attendee": []}, {"staff": []}]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tracker",
            "version": "1",
            "description": "Check-ins, conversations and the live scoreboard of an event day. "
            "Writes need Content-Type: application/json; a foreign Origin is refused. "
            "Every error is {error, detail}.",
        },
        "paths": {
            "/api/checkins": {
                "post": {
                    "operationId": "createCheckin",
                    "summary": "Check the attendee in at a station (the first visit counts)",
                    "description": "Without the attendee cookie a new attendee is made and the "
                    "cookie set. The same id again returns the stored check-in with 200 and "
                    "changes nothing; the same id with another station or person is 422.",
                    "security": [{}, {"attendee": []}],
                    "requestBody": {
                        "required": True,
                        "content": {json_body: {"schema": _ref(CheckinIn)}},
                    },
                    "responses": {
                        "201": _json(CheckinOut, "checked in"),
                        "200": _json(CheckinOut, "a repeat of the same id: the stored check-in"),
                        **_errors(400, 403, 404, 413, 415, 422, 429),
                    },
                }
            },
            "/api/conversations": {
                "post": {
                    "operationId": "createConversation",
                    "summary": "Log a conversation (staff session) or tell your own story "
                    "(attendee cookie)",
                    "security": anyone,
                    "requestBody": {
                        "required": True,
                        "content": {json_body: {"schema": _ref(ConversationIn)}},
                    },
                    "responses": {
                        "201": _json(Conversation, "stored"),
                        "200": _json(Conversation, "a repeat of the same id: the stored record"),
                        **_errors(400, 401, 403, 404, 409, 413, 415, 422, 429),
                    },
                }
            },
            "/api/conversations/{id}": {
                "parameters": [_UUID_PATH],
                "get": {
                    "operationId": "getConversation",
                    "summary": "One conversation, for its author",
                    "security": anyone,
                    "responses": {
                        "200": _json(Conversation, "the conversation"),
                        **_errors(401, 403, 404),
                    },
                },
                "put": {
                    "operationId": "putConversation",
                    "summary": "Create or replace the conversation at its client-made id",
                    "description": "RFC 9110 PUT: a new id creates it (201); its author replaces "
                    "it (200) until the end of the local day it was captured. A `revision` "
                    "older than the stored one changes nothing and returns the stored, newer "
                    "record (200): a device may forget a version once an answer's revision is "
                    "at least its own. Another author's id is 409 id_conflict; a malformed id "
                    "400.",
                    "security": anyone,
                    "requestBody": {
                        "required": True,
                        "content": {json_body: {"schema": _ref(ConversationIn)}},
                    },
                    "responses": {
                        "201": _json(Conversation, "created"),
                        "200": _json(Conversation, "replaced, or the stored newer version"),
                        **_errors(400, 401, 403, 404, 409, 413, 415, 422, 429),
                    },
                },
            },
            "/api/badges/{badge}": {
                "get": {
                    "operationId": "getBadge",
                    "summary": "Whether a badge code belongs to an attendee (staff devices)",
                    "security": [{"staff": []}],
                    "parameters": [
                        {
                            "name": "badge",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "a badge of this event",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {"badge": {"type": "string"}},
                                        "required": ["badge"],
                                    }
                                }
                            },
                        },
                        **_errors(400, 401, 404),
                    },
                }
            },
            "/api/scoreboard": {
                "get": {
                    "operationId": "getScoreboard",
                    "summary": "The scoreboard snapshot (what big screens show)",
                    "parameters": [
                        {
                            "name": "location",
                            "in": "query",
                            "required": False,
                            "description": "a location's slug: only that location",
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": _json(Scoreboard, "the snapshot"),
                        **_errors(404),
                    },
                }
            },
            "/healthz": {
                "get": {
                    "operationId": "health",
                    "summary": "Whether the server and its database work",
                    "responses": {
                        "200": _json(Health, "healthy"),
                        "503": _json(Health, "the database cannot be written"),
                    },
                }
            },
        },
        "components": {
            "schemas": defs["$defs"],
            "securitySchemes": {
                "attendee": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "tracker_attendee",
                    "description": "signed attendee cookie, set by the first check-in",
                },
                "staff": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "staff session, made by signing in at /staff with the PIN",
                },
            },
        },
    }


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(document())
