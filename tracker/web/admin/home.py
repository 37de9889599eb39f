"""The organizer console: sign-in, setup, moderation, exports, backup, report, privacy (the
follow-up queue is admin_followups)."""

from __future__ import annotations

from typing import Literal, cast, get_args

from babel.numbers import format_decimal
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from pydantic import ValidationError
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response as WerkzeugResponse

from ...event import file as eventfile
from ...event import lookups as events
from ...event import problems as eventproblems
from ...event import settings as eventsettings
from ...event import setup as eventsetup
from ...event.languages import LANGUAGES
from ...figures import today
from ...node import enrol
from ...people import organizers, staff
from ...store.db import page_count
from ...stories import moderation
from ..context import current_event, get_db, read_off_loop
from ..i18n import say
from ..identity import (
    device,
    known_organizer_device,
    organizer,
    organizer_name,
    remember_organizer_device,
    sign_in_organizer,
)
from ..ratelimit import organizer_sign_in_failed, organizer_sign_in_limits, organizer_signed_in
from .forms import organizer_locale, whole_number
from .gate import back, local_path, page_number, require_organizer, told
from .setup import time_zones

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _env_password() -> str | None:
    return current_app.config.get("ADMIN_PASSWORD")


bp.before_request(require_organizer)


@bp.route("/login", methods=["GET", "POST"])
def login():
    db = get_db()
    configured = organizers.has_password(db, _env_password())
    error = None
    this_device = device()  # a device of its own from the first visit (web/identity.py)
    if request.method == "POST":
        name = request.form.get("name", "")
        try:
            organizer_sign_in_limits(this_device.id, name, known_organizer_device(name))
        except TooManyRequests as refused:  # the form again, saying when to come back
            page = render_template(
                "admin/login.html", configured=configured, error=refused.description
            )
            return page, 429, {"Retry-After": str(refused.retry_after)}
        who = organizers.check_password(db, name, request.form.get("password", ""), _env_password())
        if who is not None:
            organizer_signed_in(this_device.id)
            sign_in_organizer(who)
            target = request.args.get("next", "")
            response = redirect(target if local_path(target) else url_for("admin.dashboard"))
            return remember_organizer_device(response, who["name"])
        organizer_sign_in_failed(this_device.id, name)
        error = gettext("That name and password do not match.") if configured else None
    return render_template("admin/login.html", configured=configured, error=error), (
        401 if error else 200
    )


@bp.post("/logout")
def logout():
    """Sign out on every device: the organizer's session epoch moves on."""
    who = organizer()
    if who is not None:
        organizers.end_sessions(get_db(), who["id"])
    session.clear()
    return redirect(url_for("admin.login"))


@bp.get("/")
def dashboard():
    event = current_event()

    return render_template(
        "admin/dashboard.html",
        event=event,
        **read_off_loop(today.overview, event, current_app.config["BURST_IDENTITIES"]),
        nodes=enrol.nodes(get_db(), event["id"]),
    )


# --- setup ---------------------------------------------------------------------------------------


@bp.get("/setup")
def setup():
    event = current_event()
    db = get_db()
    return render_template(
        "admin/setup.html",
        event=event,
        locations=events.locations(db, event["id"], active_only=False),
        stations=events.stations(db, event["id"], active_only=False),
        kinds=eventfile.STATION_KINDS,
        new_pin=session.pop("new_pin", None),
        locked=staff.locked_stations(db, event["id"]),
        goal_text=format_decimal(event["goal"], locale=organizer_locale()),
        event_languages=LANGUAGES,  # `languages` is the switcher (web/i18n.py)
        time_zones=time_zones(),
    )


def _back(message: str | None = None, category: str = "ok") -> WerkzeugResponse:
    return told(message, category, "admin.setup")


@bp.post("/setup/event")
def setup_event():
    event = current_event()
    db = get_db()
    try:
        # Both read before either is written: a bad goal changes nothing, the name included.
        goal = whole_number(request.form.get("goal", ""), organizer_locale(), gettext("The goal"))
        eventsetup.rename(db, "events", event["id"], request.form.get("name", ""), organizer_name())
        eventsettings.set_goal(db, event["id"], goal, organizer_name())
    except ValueError as exc:
        return _back(say(exc), "error")
    return _back(gettext("Event saved."))


@bp.post("/setup/locations")
def add_location():
    event = current_event()
    f = request.form
    try:
        fields = {k: f.get(k, "").strip() for k in ("slug", "name", "city", "country", "timezone")}
        spec = eventfile.LocationSpec.model_validate(
            {**fields, "language": f.get("language", "").strip() or None}
        )
        _, created = eventsetup.upsert_location(
            get_db(),
            event["id"],
            spec.slug,
            spec.name,
            spec.city,
            spec.country,
            spec.timezone,
            language=spec.language,
            actor=organizer_name(),
        )
    except (ValueError, ValidationError) as exc:
        return _back(_readable(exc), "error")
    if created:
        return _back(gettext("Location %(name)s added.", name=spec.name))
    return _back(gettext("Location %(name)s updated.", name=spec.name))


@bp.post("/setup/stations")
def add_station():
    event = current_event()
    f = request.form
    location = next(
        (
            loc
            for loc in events.locations(get_db(), event["id"], False)
            if str(loc["id"]) == f.get("location_id")
        ),
        None,
    )
    if location is None:
        return _back(gettext("Choose a location for the new station."), "error")
    try:
        spec = eventfile.StationSpec.model_validate(
            {
                "slug": f.get("slug", "").strip(),
                "name": f.get("name", ""),
                "kind": f.get("kind", "booth"),
            }
        )
    except (ValueError, ValidationError) as exc:
        return _back(_readable(exc), "error")
    _, pin = eventsetup.upsert_station(
        get_db(), location["id"], spec.slug, spec.name, spec.kind, actor=organizer_name()
    )
    if pin:
        session["new_pin"] = gettext(
            "%(location)s / %(station)s: PIN %(pin)s",
            location=location["name"],
            station=spec.name,
            pin=pin,
        )
        return _back(gettext("Station %(name)s added.", name=spec.name))
    return _back(gettext("Station %(name)s updated.", name=spec.name))


@bp.post("/setup/<table>/<int:row_id>")
def change(table: str, row_id: int):
    if table not in ("locations", "stations"):
        abort(404)
    kind = cast(Literal["locations", "stations"], table)
    db = get_db()
    row = _owned_by_event(table, row_id)
    action = request.form.get("action")
    try:
        if action == "rename":
            eventsetup.rename(db, kind, row_id, request.form.get("name", ""), organizer_name())
        elif action in ("deactivate", "activate"):
            eventsetup.set_active(db, kind, row_id, action == "activate", organizer_name())
        elif action == "reset-pin" and table == "stations":
            pin = eventsetup.reset_pin(db, row_id, actor=organizer_name())
            session["new_pin"] = gettext(
                "New PIN for %(location)s / %(station)s: %(pin)s",
                location=row["location_name"],
                station=row["name"],
                pin=pin,
            )
        elif action == "unlock" and table == "stations":
            staff.unlock(db, row_id, organizer_name())
        else:
            abort(400, gettext("Unknown action."))
    except ValueError as exc:
        return _back(say(exc), "error")
    return _back(gettext("Saved."))


def _owned_by_event(table: str, row_id: int) -> dict:
    """The location or station of this event with that id, or 404."""
    event = current_event()
    rows = events.locations if table == "locations" else events.stations
    for row in rows(get_db(), event["id"], False):
        if row["id"] == row_id:
            return row
    abort(404)


def _readable(exc: Exception) -> str:
    """A refused location or station form in the organizer's language, field by field."""
    if isinstance(exc, ValidationError):
        return say(eventproblems.refusal(exc))
    return say(exc)


# --- moderation ---------------------------------------------------------------------------------


@bp.get("/stories")
def stories():
    """The moderation queue first (public stories waiting for approval, newest first)."""
    event = current_event()
    show = request.args.get("show", "waiting")
    if show not in get_args(moderation.Show):
        show = "waiting"
    page = page_number()
    q = request.args.get("q", "").strip()[: moderation.SEARCH_MAX]

    def read(db):
        counts = moderation.counts(db, event["id"], q)
        return {
            "counts": counts,
            "total": counts[show],
            "pages": page_count(counts[show], moderation.PAGE_SIZE),
            "stories": moderation.stories(
                db, event["id"], show, offset=(page - 1) * moderation.PAGE_SIZE, q=q
            ),
        }

    return render_template(
        "admin/stories.html", event=event, show=show, page=page, q=q, **read_off_loop(read)
    )


@bp.post("/stories/<uuid>")
def moderate(uuid: str):
    """Approve or reject in one tap; neither can make public a story its teller kept private."""
    event = current_event()
    action = cast(moderation.Decision, request.form.get("action"))
    if action not in get_args(moderation.Decision):
        abort(400, gettext("Unknown action: approve or reject."))
    try:
        done = moderation.decide(get_db(), event["id"], uuid, action, organizer_name())
    except moderation.UnknownConversation:
        abort(404)
    if action == "approve" and not done["on_screens"]:
        flash(
            gettext("Approved, but its teller kept it private: it stays off the screens."), "error"
        )
    return _back_to_stories()


@bp.post("/stories/<uuid>/highlight")
def highlight(uuid: str):
    """Mark a story for the report to leadership, or unmark it (`on` is "1" or "0")."""
    on = request.form.get("on")
    if on not in ("0", "1"):
        abort(400, gettext("A highlight is on (1) or off (0)."))
    try:
        moderation.set_highlight(get_db(), current_event()["id"], uuid, on == "1", organizer_name())
    except moderation.UnknownConversation:
        abort(404)
    return _back_to_stories()


def _back_to_stories() -> WerkzeugResponse:
    """The list the organizer acted from: its own `next` page, else the filter in the query."""
    return back(
        url_for(
            "admin.stories",
            show=request.args.get("show", "waiting"),
            page=page_number(),
            q=request.args.get("q") or None,
        )
    )
