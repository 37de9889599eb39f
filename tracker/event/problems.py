"""What pydantic found wrong with a setting or a setup form (the event file's own rules), as a
sentence an organizer can act on, said in their language in the console.

A rule of ours says its own sentence (a Refusal raised in a validator), which names what it
refuses; pydantic's commonest faults get words of ours after the field's name; any other keeps
pydantic's English, said as it is. The event file itself (`flask event load`) keeps its own
English report (file.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ..contract.sentences import N_, Refusal, Sentence
from .file import SLUG_PATTERN

# The fields of the setup forms and the event's settings, named as the event file names them
# ("starts_at" is "starts at"), in the organizer's language in the console.
FIELD_NAMES = {
    "slug": N_("slug"),
    "name": N_("name"),
    "city": N_("city"),
    "country": N_("country"),
    "timezone": N_("timezone"),
    "language": N_("language"),
    "kind": N_("kind"),
    "goal": N_("goal"),
    "starts_at": N_("starts at"),
    "ends_at": N_("ends at"),
    "topics": N_("topics"),
    "counts": N_("counts"),
    "moderation": N_("moderation"),
    "networks": N_("networks"),
}
# An entry of a list, counted from 1 ("topics 3": the third topic).
ENTRY_NAMES = {"topics": N_("topics %(number)s"), "counts": N_("counts %(number)s")}


def _fault(err: Mapping[str, Any]) -> Sentence:
    ctx: Mapping[str, Any] = err.get("ctx") or {}
    kind = err["type"]
    if kind == "string_too_long":
        return Sentence(N_("at most %(max)s characters"), {"max": ctx["max_length"]})
    if kind == "string_too_short":
        if ctx["min_length"] == 1:
            return Sentence(N_("it is empty"))
        return Sentence(N_("at least %(min)s characters"), {"min": ctx["min_length"]})
    if kind == "too_long":
        return Sentence(N_("at most %(max)s entries"), {"max": ctx["max_length"]})
    if kind == "too_short":
        if ctx["min_length"] == 1:
            return Sentence(N_("choose at least one"))
        return Sentence(N_("at least %(min)s entries"), {"min": ctx["min_length"]})
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == SLUG_PATTERN:
        return Sentence(
            N_("lowercase letters and digits, with single hyphens between them (e.g. %(example)s)"),
            {"example": "cork-office"},
        )
    if kind == "literal_error":
        return Sentence(N_("one of %(expected)s"), {"expected": ctx["expected"]})
    return Sentence(str(err["msg"]).removeprefix("Value error, "))


def problem(err: Mapping[str, Any]) -> Sentence:
    """One fault, after the field it is in ("topics 3: at most 80 characters"); a rule of ours
    names what it refuses itself ("unknown time zone 'Mars/Base' ...")."""
    error = (err.get("ctx") or {}).get("error")
    if isinstance(error, Refusal):
        return error.sentence
    loc = list(err["loc"])
    field: Sentence | str
    if len(loc) == 2 and isinstance(loc[1], int) and loc[0] in ENTRY_NAMES:
        field = Sentence(ENTRY_NAMES[loc[0]], {"number": loc[1] + 1})
    elif len(loc) == 1 and loc[0] in FIELD_NAMES:
        field = Sentence(FIELD_NAMES[loc[0]])
    else:
        field = " ".join(str(p + 1) if isinstance(p, int) else str(p) for p in loc) or "body"
    return Sentence(N_("%(field)s: %(problem)s"), {"field": field, "problem": _fault(err)})


def refusal(exc: ValidationError) -> Refusal:
    """Every fault of `exc` in one Refusal, in pydantic's order ("...; ...")."""
    faults = [problem(err) for err in exc.errors()]
    said = faults[-1]
    for fault in reversed(faults[:-1]):
        said = Sentence(N_("%(problem)s; %(more)s"), {"problem": fault, "more": said})
    return Refusal(said.template, **said.values)
