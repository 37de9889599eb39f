"""Stories: conversations logged by staff or told by attendees, their edits, moderation, and
employees' stories."""
