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
    """The station a staff member signed in to, from the session cookie.

    A session signed in with a PIN that has since been reset no longer counts.
    """
    value = session.get("staff_station_id")
    if not isinstance(value, int):
        return None
    if "staff_pin_ok" not in g:
        from .. import staff
        from . import get_db

        g.staff_pin_ok = session.get("staff_pin_tag") == staff.pin_tag(get_db(), value)
    return value if g.staff_pin_ok else None


def staff_name() -> str | None:
    return session.get("staff_name")


def is_admin() -> bool:
    return session.get("admin") is True
