"""Pages every audience shares: the front door, health, QR codes and printable station sheets."""

from __future__ import annotations

import sqlite3

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext

from ..contract.responses import Health
from ..event import lookups as events
from ..event import qr
from ..event.languages import direction
from ..ops import litestream
from ..people import organizers
from ..store import db as dbm
from .context import RETRY_AFTER_SECONDS, current_event, get_db, node_link, public_url
from .i18n import current_tag, use_location_language
from .identity import is_admin
from .ratelimit import enforce

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    event = current_event()
    return render_template(
        "index.html", event=event, locations=events.locations(get_db(), event["id"])
    )


@bp.get("/favicon.ico")
def favicon():
    """The icon a browser asks for by this name on any page (a JSON answer, the report, an
    offline page) that links none of its own: a PNG, which every browser takes here."""
    response = current_app.send_static_file("icons/icon-48.png")
    response.cache_control.max_age = 86400
    response.cache_control.public = True
    return response


# The colours of the installed app's splash screen and title bar: the board's dark ground.
APP_BACKGROUND = "#0a0f1e"


def web_app_manifest(name: str, short_name: str, start_url: str, scope: str, display: str):
    """A web app manifest (W3C Web Application Manifest): what a tablet or a kiosk browser
    needs to install a page as an app of its own (name, icons, display mode, start URL), in
    the page's language and direction."""
    tag = current_tag()

    def icon(file: str, sizes: str, purpose: str = "any") -> dict[str, str]:
        kind = "image/svg+xml" if file.endswith(".svg") else "image/png"
        src = url_for("static", filename=f"icons/{file}")
        return {"src": src, "sizes": sizes, "type": kind, "purpose": purpose}

    body = {
        "name": name,
        "short_name": short_name,
        "lang": tag,
        "dir": direction(tag),
        "start_url": start_url,
        "scope": scope,
        "display": display,
        "background_color": APP_BACKGROUND,
        "theme_color": APP_BACKGROUND,
        "icons": [
            icon("icon.svg", "any"),
            icon("icon-192.png", "192x192"),
            icon("icon-512.png", "512x512"),
            icon("maskable-512.png", "512x512", "maskable"),
        ],
    }
    response = jsonify(body)
    response.mimetype = "application/manifest+json"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/healthz")
def healthz():
    try:
        version = dbm.health(get_db())
        health = Health(status="ok", schema_version=version, database="ok")
        link = node_link()
        if link is not None:  # a location node: its backlog and its link to central
            node = link.health()
            health["forward"], health["link"] = node["forward"], node["link"]
        replica = current_app.extensions.get(litestream.EXTENSION)
        if replica is not None:  # replicating (TRACKER_REPLICA): 200 even when not ok
            health["replication"] = replica.health()
        return jsonify(health)
    except sqlite3.Error as exc:
        response = jsonify(
            Health(status="error", schema_version=dbm.SCHEMA_VERSION, database=str(exc))
        )
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


def _station(code: str) -> dict:
    try:
        return events.station_by_code(get_db(), code)
    except events.UnknownStation:
        abort(404, "No active station has that code.")


WRONG_SHORT_CODES = "20 per minute"


@bp.get("/j/<short_code>")
def join(short_code: str):
    """The short address under a station's QR code, typed by hand: on to its check-in page."""
    try:
        station = events.station_by_short_code(get_db(), short_code)
    except events.UnknownStation:
        # Guessing codes is slow: a few wrong ones a minute per address (25**6 codes to try).
        enforce(
            WRONG_SHORT_CODES, f"wrong-short-code:{request.remote_addr}", "too many wrong codes"
        )
        abort(
            404,
            gettext(
                "No station has the code %(code)s. Check the six characters under the QR code,"
                " or ask the staff at the station.",
                code=short_code.upper()[:12],
            ),
        )
    return redirect(url_for("attendee.station_page", code=station["code"]))


def require_organizer() -> None:
    """QR codes and sheets are for organizers once an admin password is set."""
    configured = organizers.has_password(get_db(), current_app.config.get("ADMIN_PASSWORD"))
    if configured and not is_admin():
        abort(401, "Sign in at /admin to download QR codes.")


@bp.get("/qr/<code>.svg")
def qr_svg(code: str):
    require_organizer()
    station = _station(code)
    return Response(qr.svg(qr.station_url(public_url(), station["code"])), mimetype="image/svg+xml")


@bp.get("/qr/<code>.png")
def qr_png(code: str):
    require_organizer()
    station = _station(code)
    return Response(qr.png(qr.station_url(public_url(), station["code"])), mimetype="image/png")


@bp.get("/sheets")
def sheets():
    require_organizer()
    event = current_event()
    return render_template(
        "sheets.html", event=event, locations=events.locations(get_db(), event["id"])
    )


@bp.get("/sheets/<location>")
def sheet(location: str):
    """One A4/Letter page per station: a big QR code, the names, a call to action, the short URL."""
    require_organizer()
    event = current_event()
    loc = events.location_by_slug(get_db(), event["id"], location)
    if loc is None:
        abort(404, "No location has that name.")
    # Printed for the location's attendees: in its language (?lang= chooses another).
    use_location_language(loc["language"])
    return render_template("sheet.html", **sheet_context(event, loc, public_url()))


def sheet_context(event: dict, location: dict, base_url: str) -> dict:
    """What a printable sheet shows; shared with `flask qr --out`."""
    pages = []
    for station in events.stations(get_db(), event["id"]):
        if station["location_id"] != location["id"]:
            continue
        url = qr.station_url(base_url, station["code"])
        pages.append(
            {
                "station": station,
                "url": url,
                "svg": qr.svg_inline(url),
                "short_url": qr.short_url(base_url, station["short_code"]),
                "size": _name_size(event["name"], station["name"], location["name"]),
            }
        )
    # One more page: the location's "You Define TCE" code, where employees tell their stories.
    tce_url = f"{base_url.rstrip('/')}/tce/{location['slug']}"
    employees = {
        "url": tce_url,
        "svg": qr.svg_inline(tce_url),
        "size": _name_size(event["name"], location["name"]),
    }
    return {"event": event, "location": location, "pages": pages, "employees": employees}


def _name_size(*names: str) -> str:
    """ "l", "m" or "s": the type size a sheet's names get so that the whole page, names
    included, fits one A4 or Letter page however long they are (80 characters at most)."""
    longest = max(len(name) for name in names)
    return "l" if longest <= 24 else "m" if longest <= 48 else "s"
