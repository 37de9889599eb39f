"""What a follow-up is, for the queue and for its changes alike: its statuses, which only move
forward (open -> acknowledged -> done), the length of an owner, and the two refusals."""

from __future__ import annotations

from ..stories.record import ConversationError

STATUSES = ("open", "acknowledged", "done")
MAX_OWNER = 120  # characters of an owner's name or address


class InvalidTransition(ConversationError, ValueError):
    """Follow-ups only move forward: open -> acknowledged -> done."""


class InvalidFollowUp(ConversationError, ValueError):
    """A note, owner or filter that cannot be used; the message says what is wrong."""
