"""Who is asking: the attendee's signed cookie and the staff session."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from flask import current_app, g, request, session
from itsdangerous import BadSignature, URLSafeSerializer

from ..event import lookups as events
from ..people import organizers, staff
from .context import current_event, get_db

ATTENDEE_COOKIE = "tracker_attendee"
ATTENDEE_COOKIE_DAYS = 400  # browsers cap cookie lifetime near this; long enough for any event


@lru_cache(maxsize=4)
def attendee_cookie_key(secret_key: str) -> str:
    """The key attendee cookies are signed with: derived from SECRET_KEY, so central can hand
    it to its location nodes (they issue and accept the same cookies) without its secret.
    Computed once per secret: every request with an attendee cookie asks for it."""
    return hmac.new(secret_key.encode(), b"attendee-cookie", hashlib.sha256).hexdigest()


def _keys() -> tuple[str, ...]:
    """Newest last: the attendee key (on a node, central's, from its pull), then SECRET_KEY
    itself, which signed attendee cookies before nodes existed and is still accepted."""
    key = current_app.config.get("ATTENDEE_COOKIE_KEY")
    secret = str(current_app.secret_key)
    if key is None:
        key = attendee_cookie_key(secret)
    if current_app.config.get("NODE_UPSTREAM"):
        return (key,)
    return (secret, key)


def _serializer() -> URLSafeSerializer:
    return _serializer_for(_keys())


@lru_cache(maxsize=8)
def _serializer_for(keys: tuple[str, ...]) -> URLSafeSerializer:
    # itsdangerous signs with the last key and accepts any of them (key rotation).
    return URLSafeSerializer(list(keys), salt="attendee")


def _token_in(keys: tuple[str, ...], cookie: str) -> str | None:
    """A phone sends the same cookie with every request: check its signature once per process."""
    # Ours are under 100 characters; longer ones are checked every time, never kept.
    return _cached_token(keys, cookie) if len(cookie) <= 200 else _verify(keys, cookie)


@lru_cache(maxsize=16384)
def _cached_token(keys: tuple[str, ...], cookie: str) -> str | None:
    return _verify(keys, cookie)


def _verify(keys: tuple[str, ...], cookie: str) -> str | None:
    try:
        token = _serializer_for(keys).loads(cookie)
    except BadSignature:
        return None
    return token if isinstance(token, str) else None


def attendee_token() -> str | None:
    """The attendee token from the signed cookie, or None when absent or tampered with."""
    if "attendee_token" not in g:
        raw = request.cookies.get(ATTENDEE_COOKIE)
        g.attendee_token = _token_in(_keys(), raw) if raw else None
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
    """The station a staff member signed in to, while their session is open.

    A session ends when it signs out (even a copy of its cookie) and when the PIN it signed in
    with is reset.
    """
    value = session.get("staff_station_id")
    if not isinstance(value, int):
        return None
    if "staff_ok" not in g:
        session_id = session.get("staff_session")
        state = staff.open_session(get_db(), session_id) if isinstance(session_id, str) else None
        g.staff_ok = (
            state is not None
            and state["station_id"] == value
            and state["pin_tag"] == session.get("staff_pin_tag")
        )
    return value if g.staff_ok else None


def staff_station() -> dict | None:
    """The signed-in staff member's station, while it is an active station of this event."""
    station_id = staff_station_id()
    if station_id is None:
        return None
    try:
        return staff.station(get_db(), station_id, current_event()["id"])
    except events.UnknownStation:
        return None


def staff_session_station() -> dict | None:
    """The station of an open staff session, even one an organizer has since closed: its
    tablets still sync what they captured (README, changes while in use)."""
    station_id = staff_station_id()
    if station_id is None:
        return None
    return events.station_by_id(get_db(), station_id, current_event()["id"])


def staff_name() -> str | None:
    return session.get("staff_name")


def sign_in_organizer(organizer: dict) -> None:
    """A new organizer session: {"id", "name", "epoch"} from organizers.check_password."""
    session.clear()
    session["organizer"] = {k: organizer[k] for k in ("id", "name", "epoch")}
    session.permanent = True


def organizer() -> dict | None:
    """The signed-in organizer {"id", "name", "epoch"}, while their session epoch is current
    (a sign-out or a password change elsewhere moves it on and ends this session)."""
    if "organizer" not in g:
        who = session.get("organizer")
        g.organizer = who if isinstance(who, dict) and _current(who) else None
    return g.organizer


def _current(who: dict) -> bool:
    """Whether an organizer session's epoch is still the current one."""
    if not isinstance(who.get("name"), str):
        return False
    if who.get("id") is not None:
        return organizers.epoch(get_db(), who["id"]) == who.get("epoch")
    # The ADMIN_PASSWORD sign-in: while that password is set, until sign-out.
    epoch = organizers.bootstrap_epoch(get_db(), current_app.config.get("ADMIN_PASSWORD"))
    return epoch is not None and epoch == who.get("epoch")


def organizer_name() -> str:
    """Who the audit trail names for this request's organizer actions."""
    who = organizer()
    return who["name"] if who else "unknown"


ORGANIZER_DEVICE_COOKIE = "tracker_organizer_device"


def remember_organizer_device(response, name: str):
    """After a good sign-in: this device is known for this organizer (signed, HttpOnly)."""
    response.set_cookie(
        ORGANIZER_DEVICE_COOKIE,
        URLSafeSerializer(str(current_app.secret_key), salt="organizer-device").dumps(
            name.casefold()
        ),
        max_age=ATTENDEE_COOKIE_DAYS * 86400,
        httponly=True,
        samesite="Lax",
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
    )
    return response


def known_organizer_device(name: str) -> bool:
    """Whether this device signed in before as the organizer now named."""
    raw = request.cookies.get(ORGANIZER_DEVICE_COOKIE)
    if not raw or len(raw) > 300:
        return False
    try:
        known = URLSafeSerializer(str(current_app.secret_key), salt="organizer-device").loads(raw)
    except BadSignature:
        return False
    return known == " ".join(name.split()).casefold()


def is_admin() -> bool:
    return organizer() is not None
