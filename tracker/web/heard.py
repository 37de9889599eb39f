"""The customer's own page about a closed follow-up: the closing note's signed link leads here,
where one tap says "it is not resolved" (with a few words if they like). That reopens the
follow-up for organizers (tracker.actions.heard). The page speaks the message's language (the
link carries `?lang=`), asks for nothing else, and a reload or a second tap changes nothing.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import gettext as _

from ..actions import heard
from .context import get_db

bp = Blueprint("heard", __name__, url_prefix="/heard")


def _message(token: str) -> dict:
    try:
        return heard.message(get_db(), heard.message_id(str(current_app.secret_key or ""), token))
    except heard.UnknownMessage:
        abort(404, _("This link is not valid. Please use the link in the e-mail we sent you."))


def _page(found: dict, token: str, status: int = 200) -> Response:
    response = Response(
        render_template(
            "heard.html",
            message=found,
            token=token,
            max_answer=heard.MAX_ANSWER,
            event=None,
        ),
        status,
    )
    response.headers["Cache-Control"] = "no-store"  # the form carries a CSRF token
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/<token>")
def closed(token: str):
    """Was it resolved? The reference and one button (or, once said, the thanks)."""
    return _page(_message(token), token)


@bp.post("/<token>")
def not_resolved(token: str):
    """The customer says it is not resolved: the follow-up is open again; the thanks."""
    found = _message(token)
    updated = heard.not_resolved(get_db(), int(found["id"]), request.form.get("answer", ""))
    return _page(updated, token)
