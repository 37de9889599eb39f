"""What the domain says to a person (why a change was refused, what a status check sees, a node's
alarm), written once in English and said in each reader's language.

A `Sentence` is an English template with %(name)s fields, marked for the catalogues with `N_`,
and the values that fill it. `str()` gives the English: the JSON API, the command line, the logs
and the alerts read that. The console says it in the organizer's language
(`tracker.web.i18n.say`), through the same gettext catalogues as every page: the template is the
msgid. A `Refusal` is a ValueError that carries its sentence, so callers that catch ValueError
keep working.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def N_(message: str) -> str:
    """Marks an English sentence for the catalogues (pybabel extracts `N_` calls by default) and
    returns it unchanged: it is translated where it is shown, not where it is written."""
    return message


@dataclass(frozen=True)
class Sentence:
    """`template`: English with %(name)s fields, its own msgid; `values`: str, int or float for
    each field (numbers are formatted in the reader's locale where it is translated), or a
    Sentence, said in the reader's language too (a status's name: N_("done"))."""

    template: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.template % dict(self.values) if self.values else self.template

    def to_json(self) -> str:
        """For a column that keeps a sentence (a node's alarm): {"template": ..., "values": ...}."""
        return json.dumps({"template": self.template, "values": dict(self.values)})

    @classmethod
    def from_json(cls, stored: str) -> Sentence:
        """A stored sentence; text stored before sentences were kept this way is its own
        template, said as it was written."""
        try:
            value = json.loads(stored)
        except ValueError:
            return cls(stored)
        if not isinstance(value, dict) or not isinstance(value.get("template"), str):
            return cls(stored)
        return cls(value["template"], dict(value.get("values") or {}))


class Refusal(ValueError):
    """A rule said no, and nothing was changed. `sentence` says why; str() is its English."""

    def __init__(self, template: str, **values: Any):
        self.sentence = Sentence(template, values)
        super().__init__(str(self.sentence))
