"""The JSON API's common ground: one body reader, one error shape, one wording of refused fields."""

from __future__ import annotations

import json
from typing import TypeVar
from urllib.parse import urlsplit
from uuid import UUID

from flask import Response, jsonify, request
from pydantic import BaseModel, ValidationError

from ..contract.errors import ErrorCode

M = TypeVar("M", bound=BaseModel)

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

# The code of an error raised as an HTTP status (abort, the rate limiter, werkzeug).
_BY_STATUS = {
    400: ErrorCode.bad_request,
    401: ErrorCode.not_signed_in,
    403: ErrorCode.forbidden,
    404: ErrorCode.not_found,
    405: ErrorCode.method_not_allowed,
    408: ErrorCode.request_timeout,
    413: ErrorCode.body_too_large,
    415: ErrorCode.unsupported_media_type,
    429: ErrorCode.too_many_requests,
    503: ErrorCode.unavailable,
}


class ApiError(Exception):
    """A request the JSON API refuses; answered as json_error(status, code, detail)."""

    def __init__(self, status: int, code: ErrorCode, detail: str | list | dict):
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def json_error(status: int, code: ErrorCode, detail: str | list | dict) -> Response:
    """Every API error has this shape (shapes.Error): {"error": code, "detail": for people}."""
    response = jsonify({"error": code.value, "detail": detail})
    response.status_code = status
    return response


def code_for_status(status: int) -> ErrorCode:
    """The code of an HTTP error raised outside the API's own checks."""
    return _BY_STATUS.get(
        status, ErrorCode.internal_error if status >= 500 else ErrorCode.bad_request
    )


def field_problems(exc: ValidationError) -> list[dict]:
    """A refused body or form, field by field ({"field", "problem"}): the `detail` of a 400
    invalid_body, and the lines an organizer or attendee form shows."""
    return [
        {
            "field": ".".join(str(part) for part in err["loc"]) or "body",
            "problem": err["msg"].removeprefix("Value error, "),
        }
        for err in exc.errors(include_url=False, include_input=False)
    ]


def read_json(model: type[M], max_bytes: int, url_id: UUID | None = None) -> M:
    """The request's JSON body validated by `model`.

    A body over `max_bytes` is refused (413 body_too_large) before it is parsed; a broken or
    invalid one is 400 invalid_body with the problems field by field. `url_id` is the id in a
    PUT's URL: the body may leave its `id` out, and one that differs is 422 id_mismatch (valid JSON, the wrong record).
    """
    length = request.content_length
    if length is not None and length > max_bytes:
        raise _too_large(max_bytes)
    try:
        data = _read_body(length, max_bytes)
    except OSError:  # the connection broke mid-body
        raise ApiError(
            400, ErrorCode.invalid_body, "the body was cut off on the way; send it again"
        ) from None
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    try:
        if url_id is None:
            return model.model_validate_json(data)
        raw = json.loads(data)
        if not isinstance(raw, dict):
            raise ApiError(400, ErrorCode.invalid_body, "the body must be a JSON object")
        raw.setdefault("id", str(url_id))
        body = model.model_validate(raw)
    except ValidationError as exc:
        raise ApiError(400, ErrorCode.invalid_body, field_problems(exc)) from None
    except ValueError as exc:  # json.loads: not JSON at all
        raise ApiError(400, ErrorCode.invalid_body, f"the body is not JSON: {exc}") from None
    if getattr(body, "id", None) != url_id:
        raise ApiError(
            422, ErrorCode.id_mismatch, "the id in the body differs from the id in the URL"
        )
    return body


def _too_large(max_bytes: int) -> ApiError:
    return ApiError(413, ErrorCode.body_too_large, f"the body may be at most {max_bytes} bytes")


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


def is_api() -> bool:
    """Whether this request is answered in JSON (errors included)."""
    return request.path.startswith("/api/") or request.path == "/openapi.json"


def refuse_cross_site() -> Response | None:
    """Cross-site guard for the JSON API, which carries no CSRF token (README, HTTP and
    Socket.IO interface).

    A cross-site form cannot send application/json, and a cross-site script cannot without a
    CORS preflight, which we never grant; a foreign Origin is refused outright.
    """
    if request.method not in UNSAFE:
        return None
    origin = request.headers.get("Origin")
    if origin == "null":
        return json_error(
            403, ErrorCode.forbidden_origin, "requests from an opaque origin are not accepted"
        )
    if origin and urlsplit(origin).netloc != request.host:
        return json_error(
            403, ErrorCode.forbidden_origin, f"requests from {origin} are not accepted"
        )
    if request.mimetype != "application/json":
        return json_error(
            415,
            ErrorCode.unsupported_media_type,
            "send the body as JSON with Content-Type: application/json",
        )
    return None
