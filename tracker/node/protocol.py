"""The wire format between a location node and central, in one place: which columns of the
setup a node mirrors, which fields of a conversation travel, and how much one call carries.
Central (central.py) writes these shapes and the node (pull.py, forward.py) reads them; a field
added on one side only is a field added here.
"""

from __future__ import annotations

MAX_RECORDS = 500  # one batch at most; a node sends 200
PULL_ROWS = 2000  # records of the location per pull, each table

EVENT_COLUMNS = (
    "id", "slug", "name", "goal", "timezone", "starts_at", "ends_at", "counts", "topics",
    "created_at", "moderation", "language",
)  # fmt: skip
LOCATION_COLUMNS = (
    "id", "event_id", "slug", "name", "city", "country", "timezone", "active", "closed_at",
    "language",
)  # fmt: skip
STATION_COLUMNS = (
    "id", "location_id", "slug", "name", "kind", "code", "pin_hash", "active", "closed_at",
    "short_code",
)  # fmt: skip
CONVERSATION_FIELDS = (
    "source", "staff_name", "story", "nps", "topics", "follow_up", "contact", "owner", "status",
    "public", "captured_at", "received_at", "updated_at", "revision", "device_captured_at",
)  # fmt: skip
