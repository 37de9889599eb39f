"""The big screen: /board pages and the snapshot they start from (GET /api/scoreboard)."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, render_template, request, url_for
from flask_babel import gettext

from ..contract.errors import ErrorCode
from ..contract.responses import Scoreboard
from ..event import lookups as events
from ..event import qr
from ..event.languages import font_stylesheets
from ..figures import scoreboard
from .context import current_event, get_db, public_url
from .i18n import current_tag, use_location_language
from .jsonapi import json_error
from .pages import web_app_manifest

bp = Blueprint("board", __name__)

THEMES = ("dark", "light")
ROTATE_MIN_SECONDS = 10
ROTATE_DEFAULT_SECONDS = 30
PAGE_DEFAULT_SECONDS = 10  # each page of locations, when they do not all fit the screen
GROUPS = ("country",)


def kiosk_options(args) -> dict:
    """Kiosk settings from the URL; anything odd falls back to a sensible default, never an error.

    A screen on a wall has nobody to read an error page, so `?rotate=yes` just rotates.
    """
    theme = args.get("theme", "dark")
    rotate = 0
    if "rotate" in args:
        raw = args.get("rotate", "")
        if raw.lower() in ("0", "off", "no", "false"):
            rotate = 0
        elif raw.isdigit():
            rotate = min(max(int(raw), ROTATE_MIN_SECONDS), 3600)
        else:
            rotate = ROTATE_DEFAULT_SECONDS
    reload_raw = args.get("reload", "")
    reload_minutes = int(reload_raw) if reload_raw.isdigit() else 360
    return {
        "theme": theme if theme in THEMES else "dark",
        "rotate": rotate,
        "reload": min(reload_minutes, 7 * 24 * 60),
    }


def list_options(args) -> dict:
    """How the location list shows, from the URL: `?group=country` puts the locations under
    their countries (with subtotals); `?page=SECONDS` is how long each page of locations stays
    when they do not all fit the screen (10 s, at least 3)."""
    page_raw = args.get("page", "")
    page = int(page_raw) if page_raw.isdigit() else PAGE_DEFAULT_SECONDS
    group = args.get("group", "")
    return {"group": group if group in GROUPS else None, "page": min(max(page, 3), 600)}


def employees_option(args) -> bool:
    """`?employees=1`: the ticker also shows employees' stories ("You Define TCE"), with their
    own small count; anything else (or nothing) leaves the board to the customers."""
    return args.get("employees", "").lower() in ("1", "yes", "true", "on")


def join_station(join: str | None, location: str | None) -> dict | None:
    """The station whose QR code the screen shows (`?join=`), or None to show none.

    On a location's board `?join=1` is its first active station by name and `?join=<station>`
    picks one of its stations; on the event's board a location must be named,
    `?join=<location>/<station>` or `?join=<location>` (its first station), unless the event has
    only one location. Anything unknown or ambiguous shows no corner, never an error.
    """
    if not join or join.lower() in ("0", "off", "no", "false"):
        return None
    stations = events.stations(get_db(), current_event()["id"])
    wanted_location, _, wanted_station = join.partition("/")
    if not wanted_station:
        if location:
            wanted_location, wanted_station = location, "" if join == "1" else join
        elif join == "1":
            wanted_location = ""
    if not wanted_location:
        # The event's board: "1" is only clear when every station is at one location.
        if len({s["location_slug"] for s in stations}) != 1:
            return None
        wanted_location = stations[0]["location_slug"]
    for station in stations:
        if station["location_slug"] == wanted_location and wanted_station in ("", station["slug"]):
            return station
    return None


def join_corner(station: dict | None) -> dict | None:
    """What the "Scan to check in" corner shows: the station's QR code as inline SVG and the
    short address to type (without its scheme: it is read off a wall)."""
    if station is None:
        return None
    base = public_url()
    short = qr.short_url(base, station["short_code"]).split("://", 1)[-1]
    host, _, code = short.rpartition("/j/")
    return {
        "station": station["name"],
        "location": station["location_name"],
        "url": qr.station_url(base, station["code"]),
        "svg": qr.svg_inline(qr.station_url(base, station["code"])),
        "short": short,
        "short_parts": (host, "/j/" + code),  # a narrow corner breaks the line between them
    }


def _snapshot(location: str | None) -> Scoreboard:
    return scoreboard.snapshot(get_db(), current_event(), location)


@bp.get("/board")
@bp.get("/board/<location>")
def board(location: str | None = None):
    try:
        snap = _snapshot(location)
    except scoreboard.UnknownLocation:
        abort(404, f"The event has no location {location!r}.")
    event = current_event()
    if location:
        # A location's screen speaks its language (else the event's); ?lang= still wins.
        place = events.location_by_slug(get_db(), event["id"], location)
        use_location_language(place["language"] if place else None)
    return render_template(
        "board/board.html",
        event=event,
        snapshot=snap,
        location=location,
        options=kiosk_options(request.args)
        | list_options(request.args)
        | {"employees": employees_option(request.args)},
        join=join_corner(join_station(request.args.get("join"), location)),
        fonts=font_stylesheets(current_tag(), every_script=True),
    )


@bp.get("/board/manifest.webmanifest")
def manifest():
    """The board as an app a kiosk installs, full screen. `?start=` is the board's own address
    (a location, kiosk options): the installed app opens that screen again."""
    start = request.args.get("start", "")
    if not (start == "/board" or start.startswith(("/board/", "/board?"))) or "//" in start:
        start = url_for("board.board")
    name = f"{current_event()['name']} · {gettext('live board')}"
    return web_app_manifest(
        name, gettext("live board"), start, url_for("board.board"), "fullscreen"
    )


@bp.get("/api/scoreboard")
def api_scoreboard():
    location = request.args.get("location") or None
    try:
        snap = _snapshot(location)
    except scoreboard.UnknownLocation:
        return json_error(
            404, ErrorCode.unknown_location, f"the event has no location {location!r}"
        )
    response = jsonify(snap)
    response.headers["Cache-Control"] = "no-store"
    return response
