"""The audit trail's words in the organizer's language: each action (store/audit.ACTIONS) and
each field of its before and after values. The trail keeps codes ("checkin.void", "due_on"),
which its CSV and filter use; the page says them in words."""

from __future__ import annotations

import json

from flask_babel import lazy_gettext

from ...store import audit

COMMAND_LINE = lazy_gettext("command line")
ACTIONS = {
    "action.create": lazy_gettext("Action created"),
    "action.due": lazy_gettext("Action's due day changed"),
    "action.note": lazy_gettext("Note on an action"),
    "action.owner": lazy_gettext("Action's owner changed"),
    "action.status": lazy_gettext("Action's status changed"),
    "action.title": lazy_gettext("Action renamed"),
    "attendee.erase": lazy_gettext("Attendee's contact details erased"),
    "attendee.restore": lazy_gettext("Attendee restored"),
    "attendee.void": lazy_gettext("Attendee voided"),
    "burst.restore": lazy_gettext("Burst restored"),
    "burst.void": lazy_gettext("Burst voided"),
    "checkin.restore": lazy_gettext("Check-in restored"),
    "checkin.void": lazy_gettext("Check-in voided"),
    "conversation.edit": lazy_gettext("Conversation edited"),
    "conversation.restore": lazy_gettext("Conversation restored"),
    "conversation.void": lazy_gettext("Conversation voided"),
    "customer.acknowledgement": lazy_gettext("Customer told their story was heard"),
    "customer.closed": lazy_gettext("Customer told their follow-up was closed"),
    "event.counts": lazy_gettext("What counts changed"),
    "event.dates": lazy_gettext("Event dates changed"),
    "event.follow_up_sla": lazy_gettext("Follow-up deadline changed"),
    "event.goal": lazy_gettext("Goal changed"),
    "event.language": lazy_gettext("Event language changed"),
    "event.load": lazy_gettext("Event file loaded"),
    "event.moderation": lazy_gettext("Moderation changed"),
    "event.networks": lazy_gettext("Trusted networks changed"),
    "event.quick_mode": lazy_gettext("Quick mode changed"),
    "event.rename": lazy_gettext("Event renamed"),
    "event.serve": lazy_gettext("Event served"),
    "event.timezone": lazy_gettext("Time zone changed"),
    "event.topics": lazy_gettext("Topics changed"),
    "follow_up.not_resolved": lazy_gettext("Customer said not resolved"),
    "follow_up.note": lazy_gettext("Note on a follow-up"),
    "follow_up.owner": lazy_gettext("Follow-up's owner changed"),
    "follow_up.status": lazy_gettext("Follow-up's status changed"),
    "held.restore": lazy_gettext("Held records restored (held again)"),
    "held.void": lazy_gettext("Held records voided"),
    "location.activate": lazy_gettext("Location opened again"),
    "location.add": lazy_gettext("Location added"),
    "location.deactivate": lazy_gettext("Location closed"),
    "location.language": lazy_gettext("Location language changed"),
    "location.rename": lazy_gettext("Location renamed"),
    "location.update": lazy_gettext("Location changed"),
    "network.trust": lazy_gettext("Network trusted"),
    "node.accept": lazy_gettext("Node accepted"),
    "node.add": lazy_gettext("Node enrolled"),
    "node.revoke": lazy_gettext("Node revoked"),
    "node.void": lazy_gettext("Node's records voided"),
    "organizer.create": lazy_gettext("Organizer account created"),
    "organizer.password": lazy_gettext("Organizer password changed"),
    "rehearsal.clear": lazy_gettext("Rehearsal cleared"),
    "station.activate": lazy_gettext("Station opened again"),
    "station.add": lazy_gettext("Station added"),
    "station.deactivate": lazy_gettext("Station closed"),
    "station.rename": lazy_gettext("Station renamed"),
    "station.reset_pin": lazy_gettext("Station PIN reset"),
    "station.unlock": lazy_gettext("Station unlocked"),
    "story.approve": lazy_gettext("Story approved"),
    "story.highlight": lazy_gettext("Story highlighted"),
    "story.reject": lazy_gettext("Story rejected"),
    "story.unhighlight": lazy_gettext("Story no longer highlighted"),
    "theme.hide": lazy_gettext("Theme hidden"),
    "theme.merge": lazy_gettext("Themes merged"),
    "theme.move": lazy_gettext("Story moved to another theme"),
    "theme.rename": lazy_gettext("Theme renamed"),
    "theme.show": lazy_gettext("Theme shown"),
}
FIELDS = {
    "active": lazy_gettext("active"),
    "approval": lazy_gettext("approval"),
    "attendees": lazy_gettext("attendees"),
    "by": lazy_gettext("by"),
    "checkins": lazy_gettext("check-ins"),
    "city": lazy_gettext("city"),
    "contact": lazy_gettext("contact"),
    "contacts_erased": lazy_gettext("contacts erased"),
    "conversations": lazy_gettext("conversations"),
    "country": lazy_gettext("country"),
    "counts": lazy_gettext("what counts"),
    "created": lazy_gettext("created"),
    "due_on": lazy_gettext("due day"),
    "ends_at": lazy_gettext("ends"),
    "failures_forgotten": lazy_gettext("failed tries forgotten"),
    "follow_up": lazy_gettext("follow-up"),
    "follow_up_sla_hours": lazy_gettext("follow-up deadline (hours)"),
    "goal": lazy_gettext("goal"),
    "highlight": lazy_gettext("highlighted"),
    "into": lazy_gettext("into"),
    "kind": lazy_gettext("kind"),
    "label": lazy_gettext("name"),
    "language": lazy_gettext("language"),
    "message": lazy_gettext("message"),
    "moderation": lazy_gettext("moderation"),
    "name": lazy_gettext("name"),
    "networks": lazy_gettext("networks"),
    "nps": lazy_gettext("score (0-10)"),
    "owner": lazy_gettext("owner"),
    "quick_mode": lazy_gettext("quick mode"),
    "reason": lazy_gettext("reason"),
    "said": lazy_gettext("customer said"),
    "since": lazy_gettext("since"),
    "starts_at": lazy_gettext("starts"),
    "status": lazy_gettext("status"),
    "stories": lazy_gettext("stories"),
    "story": lazy_gettext("story"),
    "theme": lazy_gettext("theme"),
    "timezone": lazy_gettext("time zone"),
    "title": lazy_gettext("title"),
    "topics": lazy_gettext("topics"),
    "until": lazy_gettext("until"),
    "updated": lazy_gettext("updated"),
    "voided_at": lazy_gettext("voided at"),
}


def action_words(code: str) -> str:
    """An action in words; a code this release does not know, as it is."""
    return str(ACTIONS[code]) if code in ACTIONS else code


def values_words(text: str | None) -> str:
    """An audit row's before or after as a person reads it: "goal: 800, topics: Pricing,
    Support", each field named in the organizer's language, nothing as "—"; values are shown
    as stored."""
    if not text:
        return ""
    value = json.loads(text)
    if isinstance(value, dict):
        return ", ".join(
            f"{FIELDS[k] if k in FIELDS else k.replace('_', ' ')}: {_value(v)}"
            for k, v in value.items()
        )
    return _value(value)


def _value(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(map(_value, value)) or "—"
    return str(value)


def actor_words(actor: str) -> str:
    """Who made a change: a person's name as it is; changes made with `flask` commands are the
    command line's, said in the organizer's language."""
    return str(COMMAND_LINE) if actor == audit.COMMAND_LINE else actor
