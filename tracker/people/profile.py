"""An attendee's optional details (name, email, company), kept only with their consent."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, model_validator
from sqlite_utils import Database

from ..contract.requests import Clean
from ..store import db as dbm

Text = Annotated[str, Clean, StringConstraints(strip_whitespace=True, max_length=80)]


@lru_cache(maxsize=1024)
def is_email(text: str | None) -> bool:
    """Whether `text` (trimmed) is an e-mail address one could write to, by email-validator's
    syntax rules (no `a..b@`, no `_` in a domain, no reserved domain such as .test); the domain
    is not looked up in DNS. The one check for every address: the /me form, the follow-up
    queue's mailto: links, an alert's owner. Cached: a queue page asks about the same few."""
    value = (text or "").strip()
    if not value:
        return False
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _email(value: str) -> str:
    if value and not is_email(value):
        raise ValueError("this does not look like an email address (name@example.org)")
    return value


Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(_email)
]


class ProfileIn(BaseModel):
    """The /me form. Empty fields mean "not given"; all empty erases what was kept."""

    model_config = ConfigDict(extra="forbid")

    name: Text = ""
    email: Email = ""
    company: Text = ""
    consent: bool = False

    @model_validator(mode="after")
    def _consent_needed(self) -> ProfileIn:
        if (self.name or self.email or self.company) and not self.consent:
            raise ValueError("tick the box to let us keep your details, or leave them empty")
        return self


def save(db: Database, attendee_id: int, profile: ProfileIn) -> None:
    """Store (or, when every field is empty, erase) the attendee's details."""
    given = bool(profile.name or profile.email or profile.company)
    with dbm.write(db):
        db.execute(
            "UPDATE attendees SET name = ?, email = ?, company = ?, consent = ? WHERE id = ?",
            [
                profile.name or None,
                profile.email or None,
                profile.company or None,
                int(given and profile.consent),
                attendee_id,
            ],
        )
