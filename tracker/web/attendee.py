"""The attendee's pages: the station page a QR code opens, and the passport at /me."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, abort, redirect, render_template, request
from flask_babel import gettext as _
from pydantic import ValidationError

from ..checkins import record as checkins
from ..contract.requests import CheckinIn
from ..event import lookups as events
from ..event import qr
from ..people import attendees, profile
from ..store import totals
from .api_checkins import check_in_here
from .context import current_event, get_db
from .i18n import use_location_language
from .identity import attendee_token, set_attendee_cookie
from .jsonapi import field_problems
from .ratelimit import checkin_limits

bp = Blueprint("attendee", __name__)


def _no_store(response: Response) -> Response:
    # The pages carry a CSRF token and a one-time check-in id; a cached copy would replay them.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _not_a_station() -> str:
    return _("This QR code does not belong to an active station of this event.")


def _station(code: str) -> dict:
    try:
        station = events.station_by_code(get_db(), code, current_event()["id"])
    except events.UnknownStation:
        abort(404, _not_a_station())
    use_location_language(station["location_language"])
    return station


def _me() -> dict | None:
    return attendees.by_token(get_db(), attendee_token(), current_event()["id"])


@bp.get("/s/<code>")
def station_page(code: str):
    """Shows the station; stores nothing. The page's script (or its one button) checks in."""
    station = _station(code)
    return _no_store(
        Response(
            render_template(
                "attendee/checkin.html",
                event=current_event(),
                station=station,
                code=code,
                checkin_id=str(uuid.uuid4()),
                result=None,
            )
        )
    )


@bp.post("/s/<code>")
@checkin_limits
def station_form(code: str):
    """The same check-in as POST /api/checkins, for a phone with JavaScript off."""
    station = _station(code)
    event = current_event()
    try:
        body = CheckinIn.model_validate({"station": code, "id": request.form.get("id") or None})
    except ValidationError:
        abort(400, _("The check-in form was damaged on the way. Open the station's link again."))
    db = get_db()
    try:
        result = check_in_here(db, event, code, attendee_token(), body.id)
    except events.UnknownStation:  # switched off while this check-in waited for its turn
        abort(404, _not_a_station())
    except checkins.IdConflict:
        abort(422, _("This check-in was already used. Open the station's link again."))
    response = Response(
        render_template(
            "attendee/checkin.html",
            event=event,
            station=station,
            code=code,
            checkin_id=str(uuid.uuid4()),
            result=checkins.summary(result),
        ),
        status=201 if result.created else 200,
    )
    if result.new_identity:
        set_attendee_cookie(response, result.attendee["token"])
    return _no_store(response)


@bp.get("/me")
def me():
    """The passport: stations visited, the badge code and its QR code, optional details."""
    return _me_page(_me())


def _me_page(attendee: dict | None, errors: list[str] | None = None, form=None, status=200):
    event = current_event()
    db = get_db()
    return _no_store(
        Response(
            render_template(
                "attendee/me.html",
                event=event,
                attendee=attendee,
                passport=checkins.passport(db, attendee) if attendee else None,
                progress=totals.event_progress(db, event),
                errors=errors or [],
                form=form or attendee or {},
                saved=request.args.get("saved") == "1",
            ),
            status=status,
        )
    )


def _profile_problem(problem: dict) -> str:
    """A refused /me form's line, in the page's language."""
    field = problem["field"]
    if field == "body":  # details without the consent box
        return _("Please tick the box to let us keep your details, or leave them empty.")
    if field == "email" and "email" in problem["problem"]:
        return _("Email: this does not look like an email address (name@example.org).")
    labels = {"name": _("Name"), "email": _("Email"), "company": _("Company")}
    return _("%(field)s: %(problem)s", field=labels.get(field, field), problem=problem["problem"])


@bp.post("/me")
def save_profile():
    attendee = _me()
    if attendee is None:
        abort(403, _("Check in at a station first: scan its QR code with your phone camera."))
    fields = {k: request.form.get(k, "") for k in ("name", "email", "company")}
    try:
        details = profile.ProfileIn(**fields, consent=request.form.get("consent") == "yes")
    except ValidationError as exc:
        errors = [_profile_problem(p) for p in field_problems(exc)]
        return _me_page(attendee, errors, {**fields, "consent": 0}, status=400)
    profile.save(get_db(), attendee["id"], details)
    return redirect("/me?saved=1#details", code=303)


@bp.get("/me/badge.svg")
def badge_svg():
    """The badge code as a QR code, for staff to scan and tie a conversation to this attendee."""
    attendee = _me()
    if attendee is None:
        abort(404, _("No passport yet: check in at a station first."))
    response = Response(qr.badge_svg(attendee["badge"]), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
