"""Schema 13: `nodes.report`, the node's REPORT_HEADER ("<process>.<n>", tracker/node/protocol.py)
of the latest call whose count of acknowledged records central holds in `nodes.sequence`.

A node's puller and forwarder call central at once, each with the count as it read it; a call
can overtake another on the way, and the one that arrives second then reports fewer records than
central holds. That is an older copy of the node's file only when the call is not an earlier one
of the same process: central alarmed a node on a busy machine for the overtaken call.
"""

from __future__ import annotations

SQL = "ALTER TABLE nodes ADD COLUMN report TEXT;"
