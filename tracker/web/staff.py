"""Staff pages: PIN sign-in, the capture form, "My station", sign-out and the offline service worker."""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext

from ..event import lookups as events
from ..figures import scoreboard
from ..people import staff
from ..security import BADGE_ALPHABET, BADGE_LENGTH
from ..store import db as dbm
from ..stories import record as conversations
from . import ratelimit
from .context import current_event, get_db
from .i18n import (
    current_tag,
    hour_digits,
    keep_language,
    local_time,
    region_locale,
    use_location_language,
)
from .identity import (
    device,
    remember_station_device,
    staff_name,
    staff_session_station,
    staff_station,
)
from .pages import web_app_manifest

bp = Blueprint("staff", __name__, url_prefix="/staff")
OUTBOX_FLUSH_SECONDS = 20  # a page with items waiting tries to send them this often

ASSETS = ("common.js", "staff/staff.js", "staff/staff.css", "css/app.css")
NAME_MAX = 80


@cache
def _digest(path: str, mtime: float) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def asset_version() -> str:
    """Changes whenever a staff asset changes, so the service worker installs a fresh cache."""
    static = Path(current_app.static_folder or "static")
    parts = [_digest(str(static / a), (static / a).stat().st_mtime) for a in ASSETS]
    return hashlib.sha256("".join(parts).encode()).hexdigest()[:12]


@bp.app_context_processor
def _assets() -> dict:
    def staff_asset(name: str) -> str:
        return url_for("static", filename=name, v=asset_version())

    return {"staff_asset": staff_asset}


@bp.app_template_filter("nps_band")
def nps_band(score: int) -> str:
    """The colour class of a 0-10 score on staff pages."""
    return {"detractor": "low", "passive": "mid", "promoter": "high"}[scoreboard.nps_band(score)]


def _sign_in_page(error: str | None = None, status: int = 200, form: dict | None = None):
    event = current_event()
    db = get_db()
    return (
        render_template(
            "staff/signin.html",
            event=event,
            locations=events.locations(db, event["id"]),
            stations=events.stations(db, event["id"]),
            error=error,
            form=form or {},
        ),
        status,
    )


@bp.get("/")
def entry_with_slash():
    """`/staff/` is the same entry as the printed `/staff`."""
    return redirect(url_for("staff.sign_in_form"))


@bp.get("")
def sign_in_form():
    """The sign-in form, or straight to the capture page when already signed in."""
    if staff_station() is not None:
        return redirect(url_for("staff.capture"))
    device()  # a device of its own from the first visit: wrong PINs slow it, not its address
    return _sign_in_page()


def _now() -> datetime:
    """The sign-in clock, the rate limits' own (tests move it)."""
    return datetime.fromtimestamp(ratelimit.clock(), UTC)


@bp.post("")
def sign_in():
    form = {
        "station": request.form.get("station", ""),
        "name": request.form.get("name", "").strip(),
        "location": request.form.get("location", ""),
    }
    pin = request.form.get("pin", "")
    # The language the sign-in page spoke stays, errors included, and for the whole session:
    # the office's language does not take over after sign-in (the switcher still can).
    keep_language(request.form.get("lang"))
    if not (form["station"].isascii() and form["station"].isdigit() and len(form["station"]) < 10):
        return _sign_in_page(_("Choose your station."), 400, form)
    if not 1 <= len(form["name"]) <= NAME_MAX or not form["name"].isprintable():
        message = _("Type your name (up to %(max)s characters).", max=NAME_MAX)
        return _sign_in_page(message, 400, form)
    if not pin.strip():
        return _sign_in_page(_("Type the station PIN."), 400, form)
    db, this_device, now = get_db(), device(), _now()
    try:
        station = staff.station(db, int(form["station"]), current_event()["id"])
        known = this_device.knows_station(station["id"])
        # Waiting, this device (for its own wrong PINs) or the station (for new devices)?
        # Asked before the address's backstop counts it, so a guesser waiting costs no one else.
        refusal = staff.held_back(db, station["id"], this_device.id, known, now)
        if refusal is not None:
            raise refusal
        ratelimit.staff_sign_in_limits(this_device.signed_in_before)  # before any PIN is hashed
        signed_in = staff.sign_in(db, station["id"], pin.strip(), this_device.id, now, known)
    except events.UnknownStation:
        return _sign_in_page(_("That station is not open; choose another."), 400, form)
    except staff.LockedOut as exc:
        return _locked_out(station, exc, now, form)
    except staff.WrongPin as exc:
        use_location_language(station["location_language"])
        page, status = _sign_in_page(_wrong_pin(exc.remaining, exc.wait), 401, form)
        return page, status, {"Retry-After": str(_seconds(exc.wait))} if exc.wait else {}
    remember_station_device(station["id"])
    session["staff_session"] = staff.start_session(db, station["id"], form["name"])
    session["staff_station_id"] = station["id"]
    session["staff_pin_tag"] = signed_in["pin_tag"]
    session["staff_name"] = form["name"]
    session["staff_lang"] = current_tag()
    session.permanent = True
    return redirect(url_for("staff.capture"))


def _seconds(wait: timedelta) -> int:
    return max(1, math.ceil(wait.total_seconds()))


def _locked_out(station: dict, exc: staff.LockedOut, now: datetime, form: dict):
    """429 with Retry-After, saying until when (in the location's time) and why."""
    use_location_language(station["location_language"])
    local = local_time(exc.until, station["timezone"], station["country"])
    minutes = max(1, round((exc.until - now).total_seconds() / 60))
    if exc.station_wide:
        message = ngettext(
            "Many wrong PINs have been typed for %(station)s lately, so devices that have not"
            " signed in there before wait until %(time)s (about %(num)s minute). A device that"
            " signed in there before is not held back; an organizer can unlock the station.",
            "Many wrong PINs have been typed for %(station)s lately, so devices that have not"
            " signed in there before wait until %(time)s (about %(num)s minutes). A device that"
            " signed in there before is not held back; an organizer can unlock the station.",
            minutes,
            station=station["name"],
            time=local,
        )
    else:
        message = ngettext(
            "Too many wrong PINs from this device for %(station)s. Sign-in is locked until"
            " %(time)s (about %(num)s minute). An organizer can unlock it, or give you the PIN.",
            "Too many wrong PINs from this device for %(station)s. Sign-in is locked until"
            " %(time)s (about %(num)s minutes). An organizer can unlock it, or give you the PIN.",
            minutes,
            station=station["name"],
            time=local,
        )
    page, status = _sign_in_page(message, 429, form)
    return page, status, {"Retry-After": str(_seconds(exc.until - now))}


def _wrong_pin(remaining: int, wait: timedelta) -> str:
    if remaining:
        return ngettext(
            "Wrong PIN. %(num)s more try before sign-in is locked.",
            "Wrong PIN. %(num)s more tries before sign-in is locked.",
            remaining,
        )
    minutes = max(1, round(wait.total_seconds() / 60))
    return ngettext(
        "Wrong PIN. Sign-in from this device is now locked for %(num)s minute; an organizer"
        " can unlock it.",
        "Wrong PIN. Sign-in from this device is now locked for %(num)s minutes; an organizer"
        " can unlock it.",
        minutes,
    )


@bp.get("/capture")
def capture():
    """The capture form; works offline once the service worker has cached it."""
    station = staff_station()
    if station is None:
        return _closed_or_sign_in("staff/capture.html")
    return _staff_page("staff/capture.html", station)


def _closed_or_sign_in(template: str, **context):
    """A station closed by an organizer while signed in: the page says so, takes nothing new,
    and keeps syncing what the tablet captured; otherwise the sign-in form."""
    closed = staff_session_station()
    if closed is None:
        return redirect(url_for("staff.sign_in_form"))
    if template == "staff/mine.html":
        context["items"] = conversations.for_station(get_db(), closed["id"], closed["timezone"])
    return _staff_page(template, closed, closed=True, **context)


@bp.get("/mine")
def mine():
    """'My station': today's conversations here (synced ones from the server, waiting ones by JS)."""
    station = staff_station()
    if station is None:
        return _closed_or_sign_in("staff/mine.html")
    items = conversations.for_station(get_db(), station["id"], station["timezone"])
    return _staff_page("staff/mine.html", station, items=items)


def _staff_page(template: str, station: dict, **context):
    """A signed-in staff page, in the language its staff signed in with (else its location's;
    the switcher chooses another); its outbox script retries every OUTBOX_FLUSH_SECONDS."""
    keep_language(session.get("staff_lang"))
    use_location_language(station["location_language"])
    time_locale = region_locale(current_tag(), station["country"])
    return render_template(
        template,
        event=current_event(),
        station=station,
        staff_name=staff_name(),
        flush_seconds=OUTBOX_FLUSH_SECONDS,
        badge_alphabet=BADGE_ALPHABET,
        badge_length=BADGE_LENGTH,
        time_locale=time_locale.replace("_", "-"),
        hour_digits=hour_digits(time_locale),
        **context,
    )


@bp.post("/signout")
def sign_out():
    """Ends this staff session everywhere: a copy of its cookie stops working too."""
    session_id = session.pop("staff_session", None)
    if isinstance(session_id, str):
        staff.end_session(get_db(), session_id)
    for key in ("staff_station_id", "staff_name", "staff_pin_tag", "staff_lang"):
        session.pop(key, None)
    return redirect(url_for("staff.sign_in_form"))


@bp.get("/time")
def clock():
    """The server's time in milliseconds (the Date header has whole seconds), for the staff page
    to correct a wrong tablet clock before it stamps a capture."""
    response = jsonify(now=dbm.utcnow())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    """The staff page as an app a tablet installs: it opens at the printed entry `/staff`
    (sign-in, or the capture page when signed in), full screen without the browser's bar."""
    station = staff_session_station()
    if station is not None:
        keep_language(session.get("staff_lang"))
        use_location_language(station["location_language"])
    entry = url_for("staff.sign_in_form")
    name = f"{current_event()['name']} · {_('Staff')}"
    return web_app_manifest(name, _("Staff"), entry, entry, "standalone")


# The worker controls `/staff` itself (the printed URL) as well as every page under `/staff/`;
# its scope is wider than its folder, which this header allows.
SW_SCOPE = "/staff"


@bp.get("/sw.js")
def service_worker():
    """The offline service worker, scoped to /staff and versioned by the assets it caches."""
    version = asset_version()
    station = staff_session_station()
    if station is not None:
        keep_language(session.get("staff_lang"))
        use_location_language(station["location_language"])
    body = render_template(
        "staff/sw.js",
        version=version,
        entries=[url_for("staff.sign_in_form"), url_for("staff.entry_with_slash")],
        precache=[
            url_for("staff.capture"),
            url_for("staff.mine"),
            *(url_for("static", filename=a, v=version) for a in ASSETS),
            # base.html links the shared stylesheet without a version; the cache name has one.
            url_for("static", filename="css/app.css"),
        ],
    )
    response = Response(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = SW_SCOPE
    return response
