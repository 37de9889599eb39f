"""GET /openapi.json: the JSON API described for people and tools (tests hold it to the code)."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import Blueprint, jsonify
from pydantic import TypeAdapter

from ..contract.errors import Error
from ..contract.requests import CheckinIn, ConversationIn
from ..contract.responses import (
    Badge,
    CheckinOut,
    Conversation,
    Health,
    Insights,
    Scoreboard,
    ThemesOut,
)

bp = Blueprint("openapi", __name__)


REQUESTS: list[type] = [CheckinIn, ConversationIn]
RESPONSES: list[type] = [CheckinOut, Conversation, Scoreboard, Health, Error, Badge]
RESPONSES.append(Insights)  # the Experience Analytics Expo (/insights)
RESPONSES.append(ThemesOut)  # what the stories have in common (GET /api/themes)


def _ref(model: type) -> dict:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(model: type, description: str) -> dict:
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
    _, defs = TypeAdapter.json_schemas(
        [(m, "validation", TypeAdapter(m)) for m in REQUESTS + RESPONSES],
        ref_template="#/components/schemas/{model}",
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
                        "200": _json(Badge, "a badge of this event"),
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
            "/api/insights": {
                "get": {
                    "operationId": "getInsights",
                    "summary": "Customers' NPS by location, topic and local hour, topics, and the"
                    " wall of approved public stories (what /insights shows)",
                    "parameters": [
                        {
                            "name": name,
                            "in": "query",
                            "required": False,
                            "description": what,
                            "schema": schema,
                        }
                        for name, what, schema in (
                            ("topic", "only conversations naming this topic", {"type": "string"}),
                            (
                                "location",
                                "a location's slug: only that location",
                                {"type": "string"},
                            ),
                            (
                                "band",
                                "only scores in this band",
                                {"enum": ["promoter", "passive", "detractor"]},
                            ),
                            (
                                "theme",
                                "a theme's id (one of choices.themes): only its stories",
                                {"type": "integer", "minimum": 1},
                            ),
                        )
                    ],
                    "responses": {
                        "200": _json(Insights, "the figures under the filters"),
                        **_errors(400, 404),
                    },
                }
            },
            "/api/themes": {
                "get": {
                    "operationId": "getThemes",
                    "summary": "What the stories have in common (organizers): each theme with its"
                    " size, NPS and the ids of its conversations, largest first, and the stories"
                    " in no theme",
                    "parameters": [
                        {
                            "name": "voice",
                            "in": "query",
                            "required": False,
                            "description": "whose stories: customers' (the default) or employees'",
                            "schema": {"enum": ["customers", "employees"]},
                        }
                    ],
                    "responses": {
                        "200": _json(ThemesOut, "the themes"),
                        **_errors(400, 401, 403),
                    },
                }
            },
            "/api/node/setup": {
                "get": {
                    "operationId": "nodeSetup",
                    "summary": "A location node pulls its setup, the change feed of its location"
                    " after its position, and the whole event's snapshot",
                    "security": [{"node": []}],
                    "parameters": [
                        {
                            "name": "changes_after",
                            "in": "query",
                            "required": False,
                            "description": "the node's position in central's change feed",
                            "schema": {"type": "integer", "minimum": 0, "maximum": 10**18 - 1},
                        }
                    ],
                    "responses": {
                        "200": _any_object("the node's setup (tracker/node/central.py)"),
                        **_errors(400, 401, 409, 429),
                    },
                }
            },
            "/api/node/badges/{badge}": {
                "get": {
                    "operationId": "nodeBadge",
                    "summary": "A location node asks for an attendee of the event by badge code"
                    " (staff at the node typed a badge only central has met)",
                    "security": [{"node": []}],
                    "parameters": [
                        {
                            "name": "badge",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "maxLength": 20},
                        }
                    ],
                    "responses": {
                        "200": _any_object("{token, badge, created_at}"),
                        **_errors(400, 401, 404, 409, 429),
                    },
                }
            },
            "/api/node/records": {
                "post": {
                    "operationId": "nodeRecords",
                    "summary": "A location node forwards a batch of records, applied in order,"
                    " idempotently by id",
                    "security": [{"node": []}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["records"],
                                    "properties": {
                                        "records": {"type": "array", "items": {"type": "object"}}
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": _any_object('{"applied", "refused", "badges"}'),
                        **_errors(400, 401, 429),
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
                "node": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a location node's token (`flask node add LOCATION` on central)",
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


def _any_object(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(document())
