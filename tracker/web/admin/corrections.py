"""The organizer's corrections and their trail: void and restore, held records (trust their
network or void them), bursts, rehearsal rows, the audit log, and organizer accounts. Every change is made by a domain function that audits it."""

from __future__ import annotations

from typing import cast

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _

from ...corrections import bursts, holds, rehearsal, voids
from ...people import attendees, organizers
from ...store import audit
from ...store.db import page_count
from ..context import current_event, get_db
from ..i18n import say
from ..identity import organizer_name
from . import audit_words
from .gate import back, page_number, require_organizer

bp = Blueprint("admin_records", __name__, url_prefix="/admin")
bp.before_request(require_organizer)

TABLES = ("checkins", "conversations")


# The audit page's words: actions and fields in the organizer's language (audit_words.py).
bp.add_app_template_filter(audit_words.values_words, "audit_values")
bp.add_app_template_filter(audit_words.action_words, "audit_action")
bp.add_app_template_filter(audit_words.actor_words, "audit_actor")


def _table(name: str) -> voids.Table:
    if name not in TABLES:
        abort(404)
    return cast(voids.Table, name)


@bp.post("/void/<table>/<uuid>")
def void(table: str, uuid: str):
    try:
        voids.void(
            get_db(),
            current_event()["id"],
            _table(table),
            uuid,
            organizer_name(),
            request.form.get("reason", ""),
        )
    except voids.NotFound:
        abort(404)
    except voids.NeedsReason as exc:
        flash(_("Not voided: %(reason)s.", reason=say(exc)), "error")
    else:
        flash(_("Voided: it no longer counts or shows anywhere. Restore brings it back."), "ok")
    return back(url_for("admin.stories"))


@bp.post("/restore/<table>/<uuid>")
def restore(table: str, uuid: str):
    try:
        voids.restore(get_db(), current_event()["id"], _table(table), uuid, organizer_name())
    except voids.NotFound:
        abort(404)
    flash(_("Restored: it counts again."), "ok")
    return back(url_for("admin.stories"))


@bp.get("/attendees")
def attendee():
    """One attendee by badge: everything they recorded, each with void or restore."""
    event = current_event()
    badge = request.args.get("badge", "").strip()
    found = None
    if badge:
        try:
            found = voids.records_of(get_db(), event["id"], badge)
        except attendees.UnknownAttendee:
            flash(_("No attendee has the badge %(badge)s.", badge=repr(badge)), "error")
    return render_template("admin/attendee.html", event=event, badge=badge, found=found)


@bp.post("/attendees/<badge>")
def attendee_all(badge: str):
    """Void (with a reason) or restore everything one attendee recorded."""
    event = current_event()
    try:
        if request.form.get("action") == "restore":
            changed = voids.restore_attendee(get_db(), event["id"], badge, organizer_name())
            flash(_restored(changed), "ok")
        else:
            changed = voids.void_attendee(
                get_db(), event["id"], badge, organizer_name(), request.form.get("reason", "")
            )
            flash(_voided(changed), "ok")
    except attendees.UnknownAttendee:
        abort(404)
    except voids.NeedsReason as exc:
        flash(_("Not voided: %(reason)s.", reason=say(exc)), "error")
    return redirect(url_for("admin_records.attendee", badge=badge))


def _voided(changed: dict[str, int]) -> str:
    return _(
        "Voided %(checkins)s check-ins and %(stories)s stories.",
        checkins=format_decimal(changed["checkins"]),
        stories=format_decimal(changed["conversations"]),
    )


def _restored(changed: dict[str, int]) -> str:
    return _(
        "Restored %(checkins)s check-ins and %(stories)s stories.",
        checkins=format_decimal(changed["checkins"]),
        stories=format_decimal(changed["conversations"]),
    )


@bp.post("/held")
def held():
    """Held records from one address: trust its network (they count, and new ones from it are
    not held), void them (with a reason), or restore what a void here took out."""
    event = current_event()
    address, action = request.form.get("address", "").strip(), request.form.get("action")
    try:
        if action == "trust":
            changed = holds.trust(get_db(), event["id"], address, organizer_name())
            flash(
                _(
                    "Trusted %(address)s: %(checkins)s check-ins and %(stories)s stories held"
                    " from it count now, and new ones from it are not held.",
                    address=address,
                    checkins=format_decimal(changed["checkins"]),
                    stories=format_decimal(changed["conversations"]),
                ),
                "ok",
            )
        elif action == "restore":
            changed = holds.restore_held(get_db(), event["id"], address, organizer_name())
            flash(
                _(
                    "Restored (held again) %(checkins)s check-ins and %(stories)s stories.",
                    checkins=format_decimal(changed["checkins"]),
                    stories=format_decimal(changed["conversations"]),
                ),
                "ok",
            )
        else:
            changed = holds.void_held(
                get_db(), event["id"], address, organizer_name(), request.form.get("reason", "")
            )
            flash(_voided(changed), "ok")
    except ValueError as exc:  # no reason, or not an address
        flash(_("Nothing changed: %(reason)s.", reason=say(exc)), "error")
    return redirect(url_for("admin.dashboard"))


@bp.post("/bursts")
def burst():
    """Void or restore everything the identities of one flagged burst recorded."""
    event = current_event()
    ip, window = request.form.get("ip", ""), request.form.get("window", "")
    try:
        if request.form.get("action") == "restore":
            changed = bursts.restore_burst(get_db(), event["id"], ip, window, organizer_name())
            flash(_restored(changed), "ok")
        else:
            changed = bursts.void_burst(
                get_db(),
                event["id"],
                ip,
                window,
                organizer_name(),
                request.form.get("reason", ""),
            )
            flash(_voided(changed), "ok")
    except ValueError as exc:  # a damaged window, or no reason
        flash(_("Nothing changed: %(reason)s.", reason=say(exc)), "error")
    return redirect(url_for("admin.dashboard"))


@bp.post("/rehearsal/clear")
def rehearsal_clear():
    if request.form.get("confirm") != "yes":
        flash(_("Tick the box to confirm: clearing removes the rehearsal rows for good."), "error")
        return redirect(url_for("admin.dashboard"))
    removed = rehearsal.clear(get_db(), current_event()["id"], organizer_name())
    flash(
        _(
            "Rehearsal cleared: %(checkins)s check-ins, %(conversations)s conversations and"
            " %(attendees)s attendees removed. Real records are untouched.",
            checkins=format_decimal(removed["checkins"]),
            conversations=format_decimal(removed["conversations"]),
            attendees=format_decimal(removed["attendees"]),
        ),
        "ok",
    )
    return redirect(url_for("admin.dashboard"))


def audit_filters() -> dict:
    return {k: request.args.get(k, "").strip() or None for k in ("action", "actor", "text")}


@bp.get("/audit")
def audit_log():
    """Who changed what counts or shows, newest first, filterable."""
    event = current_event()
    db = get_db()
    filters = audit_filters()
    page = page_number()
    total = audit.count(db, event["id"], **filters)
    return render_template(
        "admin/audit.html",
        event=event,
        filters=filters,
        actions=audit.actions(db, event["id"]),
        actors=organizers.names(db),
        entries=audit.entries(db, event["id"], **filters, offset=(page - 1) * audit.PAGE_SIZE),
        total=total,
        page=page,
        pages=page_count(total, audit.PAGE_SIZE),
    )


@bp.route("/organizers", methods=["GET", "POST"])
def organizer_accounts():
    """Every organizer signs in with their own name, so the trail says who did what."""
    db = get_db()
    if request.method == "POST":
        name = request.form.get("name", "")
        try:
            organizers.create(db, name, request.form.get("password", ""), organizer_name())
        except (organizers.BadName, organizers.WeakPassword, organizers.NameTaken) as exc:
            flash(_("Not added: %(reason)s.", reason=say(exc)), "error")
        else:
            flash(
                _(
                    "Organizer %(name)s added: they sign in at %(address)s.",
                    name=" ".join(name.split()),
                    address="/admin",
                ),
                "ok",
            )
        return redirect(url_for("admin_records.organizer_accounts"))
    return render_template(
        "admin/organizers.html",
        event=current_event(),
        organizers=organizers.all_organizers(db),
        env_bootstrap=bool(current_app.config.get("ADMIN_PASSWORD")),
        min_length=organizers.MIN_LENGTH,
    )
