"""What a follow-up is, for the queue and for its changes alike: its statuses, which only move
forward (open -> acknowledged -> done), the length of an owner, and the two refusals."""

from __future__ import annotations

from ..contract.sentences import N_, Refusal
from ..stories.record import ConversationError

STATUSES = ("open", "acknowledged", "done")
# Each status's name as the console says it (the msgids of templates/admin/follow_ups.html).
STATUS_NAMES = {"open": N_("open"), "acknowledged": N_("acknowledged"), "done": N_("done")}
MAX_OWNER = 120  # characters of an owner's name or address


class InvalidTransition(ConversationError, Refusal):
    """Follow-ups only move forward: open -> acknowledged -> done."""


class InvalidFollowUp(ConversationError, Refusal):
    """A note, owner or filter that cannot be used; the message says what is wrong."""
