"""Who is asking: the attendee's signed cookie, the device's, the staff and organizer sessions."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from functools import lru_cache

from flask import after_this_request, current_app, g, request, session
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response

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


# --- the device ----------------------------------------------------------------------------------
# Wrong PINs and passwords slow down the device that sends them, never its address (a venue's
# guest wifi puts thousands of phones, the staff tablets and any prankster behind one): a device
# is known by a random id in a signed cookie of its own, made on its first visit to a sign-in
# page. The same cookie remembers where the device has signed in (stations, and organizers by a
# fingerprint of their name), so other devices' guesses never hold it back there. A guesser who
# clears its cookies is a new device each time, with no such marks.

DEVICE_COOKIE = "tracker_device"
LEGACY_ORGANIZER_DEVICE_COOKIE = "tracker_organizer_device"  # before device ids; still read
DEVICE_STATIONS_KEPT = 20  # the stations a device remembers, the latest ones
DEVICE_ORGANIZERS_KEPT = 5


@dataclass
class Device:
    """This request's device: its id, where it has signed in, and whether the cookie came with
    the request (`fresh`: it did not, or was tampered with, so it is new now)."""

    id: str
    stations: list[int] = field(default_factory=list)
    organizers: list[str] = field(default_factory=list)  # organizers.name_tag of each
    fresh: bool = False

    def knows_station(self, station_id: int) -> bool:
        return station_id in self.stations

    @property
    def signed_in_before(self) -> bool:
        """Whether anyone ever signed in on this device (staff or organizer)."""
        return bool(self.stations or self.organizers)


def _device_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(str(current_app.secret_key), salt="device")


def device() -> Device:
    """The device sending this request, from its signed cookie; a new one when there is none.
    The cookie goes out with this request's answer when it is new or changed."""
    if "device" not in g:
        g.device = _read_device() or Device(id=secrets.token_urlsafe(16), fresh=True)
        if g.device.fresh:
            _save_with_answer()
    return g.device


def _read_device() -> Device | None:
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw or len(raw) > 2000:
        return None
    try:
        data = _device_serializer().loads(raw)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("d"), str):
        return None
    stations = [s for s in data.get("s") or [] if isinstance(s, int)]
    names = [o for o in data.get("o") or [] if isinstance(o, str)]
    return Device(id=data["d"], stations=stations, organizers=names)


def _save_device(response: Response) -> Response:
    found = g.device
    value = {"d": found.id, "s": found.stations, "o": found.organizers}
    response.set_cookie(
        DEVICE_COOKIE,
        _device_serializer().dumps(value),
        max_age=ATTENDEE_COOKIE_DAYS * 86400,
        httponly=True,
        samesite="Lax",
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
    )
    return response


def _save_with_answer() -> None:
    if not g.get("device_saved"):
        g.device_saved = True
        after_this_request(_save_device)


def remember_station_device(station_id: int) -> None:
    """After a right PIN: this device is known at that station (its cookie says so)."""
    found = device()
    if found.stations[-1:] != [station_id]:
        kept = [s for s in found.stations if s != station_id] + [station_id]
        found.stations = kept[-DEVICE_STATIONS_KEPT:]
        _save_with_answer()


def remember_organizer_device(response, name: str):
    """After a good sign-in: this device is known for this organizer (its cookie says so)."""
    found, tag = device(), organizers.name_tag(name)
    if found.organizers[-1:] != [tag]:
        kept = [o for o in found.organizers if o != tag] + [tag]
        found.organizers = kept[-DEVICE_ORGANIZERS_KEPT:]
        _save_with_answer()
    return response


def known_organizer_device(name: str) -> bool:
    """Whether this device signed in before as the organizer now named (this cookie, or the
    one devices were given before they had ids)."""
    if organizers.name_tag(name) in device().organizers:
        return True
    raw = request.cookies.get(LEGACY_ORGANIZER_DEVICE_COOKIE)
    if not raw or len(raw) > 300:
        return False
    try:
        known = URLSafeSerializer(str(current_app.secret_key), salt="organizer-device").loads(raw)
    except BadSignature:
        return False
    return known == " ".join(name.split()).casefold()


def is_admin() -> bool:
    return organizer() is not None
