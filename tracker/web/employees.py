"""Employees' stories ("You Define TCE"): the page a location's QR sheet opens, where an employee
tells how they impact customers, from their phone, without signing in.

A plain HTML form (no script needed): the page carries a one-time id, so a double tap or a
resent form stores the story once; the answer redirects to a thank-you page, so a reload sends
nothing again. Rate-limited per address like attendees' stories (STORY_IP_LIMIT).
"""

from __future__ import annotations

import hashlib
import uuid

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_decimal
from flask_babel import gettext as _

from ..event import lookups as events
from ..stories import employees as employee_stories
from .context import current_event, get_db
from .i18n import use_location_language
from .ratelimit import enforce

bp = Blueprint("employees", __name__, url_prefix="/tce")


def _location(slug: str) -> dict:
    """The open location, its page in its language (else the event's); a friendly 404 otherwise."""
    event = current_event()
    place = events.location_by_slug(get_db(), event["id"], slug)
    if place is None or not place["active"]:
        abort(404, _("This QR code does not belong to an open location of this event."))
    use_location_language(place["language"] or event.get("language"))
    return place


def _page(place: dict, status: int = 200, error: str | None = None, form: dict | None = None):
    response = Response(
        render_template(
            "employees/tell.html",
            event=current_event(),
            location=place,
            story_id=str(uuid.uuid4()),
            story_max=employee_stories.STORY_MAX,
            error=error,
            form=form or {},
        ),
        status,
    )
    # The form carries a CSRF token and a one-time id: a cached copy would replay them.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/<location>")
def tell(location: str):
    """The form: a story, and whether it may show on the big screens."""
    return _page(_location(location))


@bp.post("/<location>")
def told(location: str):
    """Store the story once (by the form's id) and say thank you; a clear error keeps the text."""
    place = _location(location)
    story, public = request.form.get("story", ""), bool(request.form.get("public"))
    form = {"story": story, "public": public}
    enforce(
        current_app.config["STORY_IP_LIMIT"],
        f"stories/employees/ip/{request.remote_addr}",
        _("Too many stories from this network right now. Wait a minute, then try again."),
    )
    # Back, then Send again, brings a fresh form id with the same words: this browser's last
    # story for this location, sent again, is the same story (stored once).
    told_key = hashlib.sha256(f"{place['slug']}\n{story.strip()}".encode()).hexdigest()[:24]
    last = session.get("tce_told") or {}
    form_id = last["id"] if last.get("key") == told_key else request.form.get("id", "")
    try:
        result = employee_stories.record(
            get_db(),
            current_event()["id"],
            place["slug"],
            form_id,
            story,
            public,
        )
    except employee_stories.BadStory:
        text = story.strip()
        if not text:
            return _page(place, 400, _("Tell us your story first."), form)
        message = _(
            "A story has at most %(max)s characters; this one has %(count)s.",
            max=format_decimal(employee_stories.STORY_MAX),
            count=format_decimal(len(text)),
        )
        return _page(place, 400, message, form)
    except employee_stories.UnknownLocation:
        abort(404, _("This QR code does not belong to an open location of this event."))
    except (employee_stories.IdConflict, ValueError):
        # A damaged or reused form id: the text is kept and a fresh form sends it.
        return _page(place, 400, _("The form was damaged on the way. Please send it again."), form)
    session["tce_told"] = {"key": told_key, "id": result["id"]}
    return redirect(
        url_for(
            "employees.thanks",
            location=place["slug"],
            ref=result["reference"],
            shown="1" if result["public"] else "0",
        ),
        303,
    )


@bp.get("/<location>/thanks")
def thanks(location: str):
    """The friendly confirmation, with the reference to quote."""
    place = _location(location)
    ref = request.args.get("ref", "")
    if not (ref.startswith("T-") and ref[2:].isdigit() and len(ref) <= 12):
        ref = ""
    return render_template(
        "employees/thanks.html",
        event=current_event(),
        location=place,
        reference=ref,
        shown=request.args.get("shown") == "1",
    )
