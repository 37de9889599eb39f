"""Request bodies of the JSON API, validated by pydantic and published in /openapi.json."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

# C0 and C1 control characters (NUL, escape, ...) but tab and line breaks: they have no place in
# a story or a name, and some break CSV, terminals or screens.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
NO_CONTROLS = "^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"


def without_controls(text: str) -> str:
    """`text` without control characters (line breaks kept, \r\n as \n, tabs as spaces): for
    forms, where a stray character pasted from elsewhere is simply dropped."""
    return _CONTROLS.sub("", _normalized(text))


def _normalized(text: object) -> str:
    return text.replace("\r\n", "\n").replace("\t", " ") if isinstance(text, str) else text  # type: ignore[return-value]


def _refuse_controls(text: str) -> str:
    if _CONTROLS.search(text):
        raise ValueError("control characters (other than line breaks) are not allowed")
    return text


def _cleaned(text: object) -> object:
    return without_controls(text) if isinstance(text, str) else text


# Forms drop control characters; the JSON API refuses them (its schema says so: NO_CONTROLS).
Clean = BeforeValidator(_cleaned)
Plain = (
    BeforeValidator(_normalized),
    AfterValidator(_refuse_controls),
    Field(json_schema_extra={"pattern": NO_CONTROLS}),
)
StationCode = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Story = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), *Plain
]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), *Plain]
Topic = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40), *Plain
]


def _whole(value: object) -> object:
    """A JSON number that is a whole number (5 or 5.0: JSON Schema's integer) is that integer;
    booleans, text and fractions stay as they are and are refused."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Score = Annotated[int, Field(ge=0, le=10, strict=True), BeforeValidator(_whole)]


EARLIEST, LATEST = datetime(2000, 1, 2), datetime(2099, 12, 30)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CheckinIn(_Body):
    """POST /api/checkins: an attendee scanned a station's QR code."""

    station: StationCode
    id: UUID | None = Field(
        default=None, description="client-made UUID; a retry with it is idempotent"
    )


class ConversationIn(_Body):
    """POST /api/conversations (and PUT /api/conversations/<id> by its author)."""

    id: UUID = Field(description="client-made UUID; a retry with it is idempotent")
    station: StationCode | None = Field(
        default=None,
        description="the station's code; a staff session may leave it out (its own station)",
    )
    story: Story | None = Field(
        default=None,
        description="what they said (1-4000 characters when given); left out or null only by"
        " staff while the event runs in quick mode (badge, score and a topic are enough): the"
        " server refuses a story-less conversation otherwise (422 not_allowed)",
    )
    nps: Score | None = None
    topics: list[Topic] = Field(default_factory=list, max_length=12)
    follow_up: bool = False
    contact: Short | None = None
    owner: Short | None = None
    public: bool = False
    attendee_badge: Annotated[str, StringConstraints(max_length=20)] | None = Field(
        default=None, description="the badge code on the attendee's passport (typed or scanned)"
    )
    captured_at: datetime | None = Field(
        default=None,
        description="when the device saved it (its clock, corrected by the server's Date"
        " header where it can); the server keeps it beside received_at, and uses received_at"
        " instead when it is before the event or ahead of the server",
    )
    revision: (
        Annotated[int, Field(ge=1, le=1_000_000, strict=True), BeforeValidator(_whole)] | None
    ) = Field(
        default=None,
        description="the device's version of this record, one more on each edit: PUT never"
        " lets an older version overwrite a newer one (absent: this version wins)",
    )

    @field_validator("captured_at")
    @classmethod
    def _plausible_time(cls, value: datetime | None) -> datetime | None:
        """A device clock far outside this century is no time at all: the conversation is kept,
        and the server's time of receipt stands for it (capture_time.plausible_capture)."""
        if value is None or not EARLIEST <= value.replace(tzinfo=None) <= LATEST:
            return None
        return value  # stored as UTC by db.iso, which reads a naive time as UTC
