"""Logs that tell a story: one line per significant event (a node's batch applied or refused, an
alert sent or given up, a replication state change, a rate-limit refusal, a 5xx), named by a
dotted event name with a few fields, never personal data (no names, e-mails, contacts, stories,
tokens: ids, counts, reasons and addresses only). LOG_FORMAT=json writes one JSON object a line
for a log shipper; the default is plain text for a person reading a terminal."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

FIELDS = "tracker_fields"


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log the event `name` (e.g. "node.batch") with its fields (numbers, ids, reasons)."""
    text = " ".join(f"{k}={v}" for k, v in fields.items())
    logger.log(level, f"{name} {text}".strip(), extra={FIELDS: {"event": name, **fields}})


class JsonLines(logging.Formatter):
    """One JSON object a line: {"at", "level", "logger", "event"?, its fields, "message"}."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        fields = getattr(record, FIELDS, None)
        if isinstance(fields, dict):
            line.update(fields)
        else:
            line["message"] = record.getMessage()
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def configure(fmt: str, level: str = "INFO") -> None:
    """Set the root logger's format (LOG_FORMAT: "json" or "text") and level (LOG_LEVEL)."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
