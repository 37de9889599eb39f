"""The node API on central: a location node pulls its setup (GET /api/node/setup) and forwards
its records (POST /api/node/records), authenticated by its token (Authorization: Bearer),
only for its own location, rate limited per node."""

from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify, request

from ..contract.errors import ErrorCode
from ..node import central, enrol
from ..security import normalize_badge
from .context import get_db
from .identity import attendee_cookie_key
from .jsonapi import ApiError, json_error
from .ratelimit import enforce

bp = Blueprint("node_api", __name__)


def _node() -> dict:
    """The node whose token the request carries, after the rate limits; 401 otherwise."""
    if current_app.config.get("NODE_UPSTREAM"):
        raise ApiError(404, ErrorCode.not_found, "a node serves no node API")
    limit = current_app.config["NODE_API_LIMIT"]
    kind, _, token = request.headers.get("Authorization", "").partition(" ")
    if kind.lower() != "bearer" or not token:
        enforce(limit, f"node/ip/{request.remote_addr}", "Too many node requests.")
        raise ApiError(401, ErrorCode.not_signed_in, "send the node's token as a Bearer token")
    try:
        node = enrol.authenticate(get_db(), token.strip())
    except enrol.NodeRefused as exc:
        enforce(limit, f"node/ip/{request.remote_addr}", "Too many node requests.")
        raise ApiError(401, ErrorCode.not_signed_in, str(exc)) from None
    enforce(limit, f"node/{node['id']}", "Too many requests from this node.")
    try:
        central.check_in_node(get_db(), node, request.headers)
    except central.UpgradeRequired as exc:
        raise ApiError(409, ErrorCode.upgrade_required, str(exc)) from None
    except central.NodeAlarm as exc:
        raise ApiError(409, ErrorCode.node_alarm, str(exc)) from None
    return node


def _cursor(name: str) -> int:
    """A position in the change feed: a whole number from 0 to 2**63 - 1."""
    text = request.args.get(name, "0")
    if not text.isdigit() or len(text) > 18:
        raise ApiError(400, ErrorCode.bad_request, f"{name} is a whole number below 10**18")
    return int(text)


@bp.get("/api/node/setup")
def setup():
    node = _node()
    key = attendee_cookie_key(str(current_app.secret_key))
    answer = central.setup_for(get_db(), node, key, _cursor("changes_after"))
    response = jsonify(answer)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/api/node/records")
def records():
    node = _node()
    try:
        body = json.loads(request.get_data(cache=False))
        result = central.apply_records(get_db(), node, body.get("records"))
    except (ValueError, AttributeError, central.BadRecords) as exc:
        detail = str(exc) if isinstance(exc, central.BadRecords) else "the body is a JSON object"
        return json_error(400, ErrorCode.invalid_body, detail)
    return jsonify(result)


@bp.get("/api/node/badges/<badge>")
def badge(badge: str):
    """200 {token, badge, created_at} of the event's attendee with this badge, else 404."""
    node = _node()
    normal = normalize_badge(badge)
    if not normal or len(normal) > 20:
        return json_error(400, ErrorCode.not_a_badge, "not a badge code")
    found = central.attendee_by_badge(get_db(), node, normal)
    if found is None:
        return json_error(404, ErrorCode.unknown_badge, f"no attendee has the badge code {normal}")
    return jsonify(found)
