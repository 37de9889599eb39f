"""Themes in the organizer console (/admin/themes): what the stories have in common, each theme
with its NPS and stories; rename, merge, hide and move a story; and GET /api/themes.

Thin: the domain (tracker.themes.curation) validates and audits; the figures come from
tracker.figures.themes (the NPS's one rule); forms carry CSRF tokens and come back here.
"""

from __future__ import annotations

from typing import Literal, cast

from flask import Blueprint, abort, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response as WerkzeugResponse

from ...figures import themes as theme_figures
from ...themes import curation, listing
from ..context import current_event, get_db
from ..identity import organizer_name
from .gate import require_organizer, told

bp = Blueprint("admin_themes", __name__)
bp.before_request(require_organizer)
STORIES_SHOWN = 8  # of each theme on the page; the API lists them all
Voice = Literal["customers", "employees"]


def _voice() -> Voice:
    voice = request.args.get("voice") or request.form.get("voice") or "customers"
    if voice not in ("customers", "employees"):
        abort(400, _("voice is customers or employees"))
    return cast(Voice, voice)


@bp.get("/api/themes")
def api_themes():
    response = jsonify(theme_figures.for_organizers(get_db(), current_event()["id"], _voice()))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/admin/themes")
def themes_page():
    """Every theme of the voice, largest first, with its first stories, and the stories in no
    theme."""
    event, db, voice = current_event(), get_db(), _voice()
    found = listing.themes(db, event["id"], voice)
    shown = [
        {
            **t,
            "nps": theme_figures.theme_nps(t["scores"]),
            "stories": listing.stories(db, t["conversation_ids"][:STORIES_SHOWN]),
        }
        for t in found
    ]
    loose = listing.unthemed(db, event["id"], voice)
    return render_template(
        "admin/themes.html",
        event=event,
        voice=voice,
        themes=shown,
        unthemed=listing.stories(db, [r["id"] for r in loose[:50]]),
        unthemed_total=len(loose),
        choices=[(t["id"], t["label"]) for t in found],
    )


def _back(voice: str, message: str | None, category: str = "ok") -> WerkzeugResponse:
    return told(message, category, "admin_themes.themes_page", voice=voice)


def _number(name: str) -> int | None:
    text = request.form.get(name, "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 12:
        abort(400, _("%(name)s is a number", name=name))
    return int(text)


@bp.post("/admin/themes/<int:theme_id>")
def change_theme(theme_id: int):
    """One change to a theme: `do` is rename (with `label`), merge (with `into`), hide or show."""
    event, db, actor, voice = current_event(), get_db(), organizer_name(), _voice()
    what = request.form.get("do", "")
    try:
        if what == "rename":
            curation.rename(db, event["id"], theme_id, request.form.get("label", ""), actor)
            return _back(voice, _("Theme renamed."))
        if what == "merge":
            into = _number("into")
            if into is None:
                return _back(voice, _("Choose the theme to merge it into."), "error")
            curation.merge(db, event["id"], theme_id, into, actor)
            return _back(voice, _("Themes merged."))
        if what in ("hide", "show"):
            curation.hide(db, event["id"], theme_id, actor, hidden=what == "hide")
            return _back(voice, _("Theme hidden.") if what == "hide" else _("Theme shown again."))
    except listing.UnknownTheme:
        abort(404, _("No such theme (it may have been merged)."))
    except curation.BadLabel:
        return _back(voice, _("A theme's name has 1 to 80 characters."), "error")
    except curation.SameTheme:
        return _back(voice, _("A theme cannot be merged into itself."), "error")
    abort(400, _("do is rename, merge, hide or show"))


@bp.post("/admin/themes/move")
def move_story():
    """Put one story in another theme (`theme`), or in none (empty)."""
    event, db, voice = current_event(), get_db(), _voice()
    story = _number("conversation")
    if story is None:
        abort(400, _("%(name)s is a number", name="conversation"))
    try:
        curation.move(db, event["id"], story, _number("theme"), organizer_name())
    except listing.UnknownTheme:
        abort(404, _("No such theme (it may have been merged)."))
    except LookupError:
        abort(404, _("No such story in this event."))
    return _back(voice, _("Story moved."))
