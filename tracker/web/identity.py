"""Who is asking: the attendee's signed cookie and the staff session."""

from __future__ import annotations

from flask import current_app, g, request, session
from itsdangerous import BadSignature, URLSafeSerializer

ATTENDEE_COOKIE = "tracker_attendee"
ATTENDEE_COOKIE_DAYS = 400  # browsers cap cookie lifetime near this; long enough for any event


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="attendee")


def attendee_token() -> str | None:
    """The attendee token from the signed cookie, or None when absent or tampered with."""
    if "attendee_token" not in g:
        raw = request.cookies.get(ATTENDEE_COOKIE)
        token = None
        if raw:
            try:
                token = _serializer().loads(raw)
            except BadSignature:
                token = None
        g.attendee_token = token if isinstance(token, str) else None
    return g.attendee_token


def set_attendee_cookie(response, token: str):
    """Signed, HttpOnly, SameSite=Lax, Secure under HTTPS, long-lived."""
    g.attendee_token = token
    response.set_cookie(
        ATTENDEE_COOKIE,
        _serializer().dumps(token),
        max_age=ATTENDEE_COOKIE_DAYS * 86400,
        httponly=True,
        samesite="Lax",
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
    )
    return response


def staff_station_id() -> int | None:
    """The station a staff member signed in to, from the session cookie."""
    value = session.get("staff_station_id")
    return value if isinstance(value, int) else None


def staff_name() -> str | None:
    return session.get("staff_name")


def is_admin() -> bool:
    return session.get("admin") is True
