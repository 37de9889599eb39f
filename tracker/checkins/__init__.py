"""Check-ins: a phone scanned a station; the first per attendee and station counts."""
