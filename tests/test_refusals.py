"""Why the domain refused an organizer's change, said in the organizer's language: the console
translates the reason (tracker.web.i18n.say) as well as the frame around it, and changes nothing.

And the house rule that keeps it so: in the domain, what a person may read when a change is
refused is a Refusal made from an English template marked with N_ and its values, never an
f-string or bare text (those cannot be translated); the few plain ValueErrors left are listed
below with why no person reads them in the console."""

from __future__ import annotations

import ast
import builtins
import importlib
import re
import uuid
from pathlib import Path

import pytest

from tracker.checkins import record as checkins
from tracker.contract.requests import ConversationIn
from tracker.contract.sentences import Refusal
from tracker.event import lookups as events
from tracker.followups import changes as followups
from tracker.stories import record as conversations

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = ("actions", "corrections", "event", "followups", "people", "stories", "themes")


# --------------------------------------------------------------------- the console in German


@pytest.fixture
def day(db, event, booth) -> dict:
    """A check-in to void, and a follow-up already done (it cannot go back to open)."""
    checkin = checkins.check_in(db, event, booth["code"], None).checkin
    data = ConversationIn(
        id=uuid.uuid4(), station=booth["code"], story="Please call me back", follow_up=True
    )
    author = conversations.Author("staff", booth["id"], staff_name="Sam")
    told, _ = conversations.record(db, events.get_event(db), data, author)
    followups.set_status(db, event["id"], str(told["id"]), "done", actor="Ann")
    return {"checkin": checkin["id"], "follow_up": told["id"]}


def stored(db) -> dict:
    """What a refused form could have changed: a refusal writes no audit row, and more."""

    def one(sql: str) -> object:
        return db.execute(sql).fetchone()[0]

    return {
        "audit": one("SELECT count(*) FROM audit"),
        "voided": one("SELECT count(*) FROM checkins WHERE voided_at IS NOT NULL"),
        "actions": one("SELECT count(*) FROM actions"),
        "organizers": one("SELECT count(*) FROM organizers"),
        "follow_ups": one("SELECT group_concat(status) FROM conversations"),
        "event": db.execute("SELECT * FROM events").fetchall(),
    }


# (where, the form, what the page says in German, the English that must not be left)
REFUSED = [
    pytest.param(
        "/admin/void/checkins/{checkin}",
        {"reason": "  "},
        "Nicht storniert: geben Sie einen Grund an, mit 1 bis 300 Zeichen.",
        "say why",
        id="void-without-a-reason",
    ),
    pytest.param(
        "/admin/actions/new",
        {"title": "Show prices on the booth", "due_on": "next Friday"},
        "Nicht gespeichert: ein Fälligkeitstag wird JJJJ-MM-TT geschrieben, nicht"
        " &#39;next Friday&#39;.",
        "a due day is written",
        id="action-with-a-bad-due-day",
    ),
    pytest.param(
        "/admin/follow-ups/{follow_up}",
        {"action": "status", "status": "open"},
        # The statuses are said in German too (a sentence within the sentence).
        "Nicht gespeichert: ein Follow-up, das erledigt ist, kann nicht zurück auf offen.",
        "cannot go back",
        id="follow-up-moved-back",
    ),
    pytest.param(
        "/admin/follow-ups/sla",
        {"hours": "0"},
        # Numbers in the reason are written as German writes them.
        "Nicht gespeichert: die Follow-up-Frist ist eine ganze Zahl von Stunden von 1 bis 8.760.",
        "whole number of hours",
        id="follow-up-sla-of-no-hours",
    ),
    pytest.param(
        "/admin/organizers",
        {"name": "Bo Berg", "password": "short"},
        "Nicht hinzugefügt: verwenden Sie mindestens 10 Zeichen.",
        "use at least",
        id="weak-organizer-password",
    ),
    pytest.param(
        "/admin/setup/timezone",
        {"timezone": "Europe/Atlantis"},
        "Zeitzone nicht gespeichert, nichts geändert: unbekannte Zeitzone &#39;Europe/Atlantis&#39;"
        " (verwenden Sie einen IANA-Namen wie &#39;Europe/Dublin&#39;).",
        "unknown time zone",
        id="setup-unknown-time-zone",
    ),
    pytest.param(
        "/admin/setup/topics",
        {"topics": "Pricing\n" + "x" * 81},
        # A fault pydantic found, in words of ours: the entry and what is wrong with it.
        "Themen nicht gespeichert, nichts geändert: Thema 2: höchstens 80 Zeichen.",
        "at most 80 characters",
        id="setup-topic-too-long",
    ),
    pytest.param(
        "/admin/setup/locations",
        {
            "slug": "Lisbon Office",
            "name": "Lisbon",
            "city": "Lisbon",
            "country": "PT",
            "timezone": "Europe/Lisbon",
        },
        "Kurzname: Kleinbuchstaben und Ziffern, dazwischen einzelne Bindestriche (z. B."
        " cork-office)",
        "lowercase letters",
        id="setup-location-with-a-bad-short-name",
    ),
]


@pytest.mark.parametrize(("path", "form", "german", "english"), REFUSED)
def test_the_console_says_why_in_german_and_changes_nothing(
    admin, db, day, path, form, german, english
):
    before = stored(db)
    response = admin.post(path.format(**day) + "?lang=de", data=form, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code in (200, 422)
    assert '<html lang="de"' in page
    assert german in page, re.findall(r'class="[^"]*error[^"]*"[^>]*>(.*?)<', page)
    assert english not in page
    assert stored(db) == before


def test_the_english_console_and_the_api_keep_the_english(admin, db, day):
    response = admin.post(
        f"/admin/follow-ups/{day['follow_up']}",
        data={"action": "status", "status": "open"},
        follow_redirects=True,
    )
    assert "Not saved: a follow-up that is done cannot go back to open." in response.text
    with pytest.raises(followups.InvalidTransition) as refused:
        followups.set_status(db, events.get_event(db)["id"], day["follow_up"], "open")
    assert str(refused.value) == "a follow-up that is done cannot go back to open"


# --------------------------------------------------------------------- the house rule

# The plain ValueErrors left in the domain, by file and the first words of their message, each
# with why no person reads it in the console.
NOT_SAID = {
    ("event/file.py", "duplicate "): "the event file's own check (`flask event load`); the"
    " console's location form adds a location without stations",
    ("event/settings.py", "no event #"): "the console changes only the event it serves: an event"
    " gone from under a request is a fault of ours, not a person's",
    ("event/settings.py", "no location #"): "the console answers 404 for a location not of the"
    " event before it asks (web/admin/setup.py)",
    ("people/profile.py", "this does not look like"): "the attendee's /me form, which words its"
    " problems itself in the phone's language (web/attendee.py)",
    ("people/profile.py", "tick the box"): "the attendee's /me form (web/attendee.py)",
    ("stories/listing.py", "unknown source "): "the console drops a source it does not know"
    " before it asks (web/admin/conversations.py)",
}
# ValueErrors of the domain that are not Refusals, each with why the console never shows its
# message: where it is read, and who words it there.
NOT_REFUSALS = {
    "event.file.EventFileError": "the event file's report on the command line (`flask event"
    " load`), in English like the rest of the command line",
    "stories.employees.UnknownLocation": "an employee's story page (/tce), which words each"
    " refusal by its class in the page's language (web/employees.py)",
    "stories.employees.BadStory": "an employee's story page (web/employees.py)",
    "stories.employees.IdConflict": "an employee's story page (web/employees.py)",
    "stories.record.UnknownTopic": "the staff's and attendees' JSON API: an error code the pages"
    " word themselves, and an English detail",
    "stories.record.NotAllowed": "the staff's and attendees' JSON API",
    "stories.record.StoryRequired": "the staff's and attendees' JSON API",
    "stories.record.NothingToSave": "the staff's and attendees' JSON API",
    "themes.curation.BadLabel": "the console words it by its class (web/admin/themes.py)",
    "themes.curation.SameTheme": "the console words it by its class (web/admin/themes.py)",
}
FIELD = re.compile(r"%\((\w+)\)s")


def domain_modules():
    """(path under tracker/, the module, its source) for every module of the domain folders."""
    for folder in DOMAIN:
        for path in sorted((ROOT / "tracker" / folder).rglob("*.py")):
            relative = path.relative_to(ROOT / "tracker")
            name = "tracker." + ".".join(relative.with_suffix("").parts)
            module = importlib.import_module(name.removesuffix(".__init__"))
            yield relative.as_posix(), module, path.read_text(encoding="utf-8")


def _resolve(node: ast.expr, module) -> object:
    """What a name or a dotted name called in `module` is (None when it cannot tell)."""
    if isinstance(node, ast.Name):
        return vars(module).get(node.id, getattr(builtins, node.id, None))
    if isinstance(node, ast.Attribute):
        return getattr(_resolve(node.value, module), node.attr, None)
    return None


def _first_words(message: ast.expr) -> str | None:
    if isinstance(message, ast.Constant) and isinstance(message.value, str):
        return message.value
    if isinstance(message, ast.JoinedStr) and isinstance(message.values[0], ast.Constant):
        return str(message.values[0].value)
    return None


def _is_template(node: ast.expr) -> bool:
    """N_("an English sentence with %(name)s fields")."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "N_"
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    )


def _passed_on(node: ast.Call) -> bool:
    """Refusal(said.template, **said.values): a sentence made (and checked) elsewhere."""
    return (
        len(node.args) == 1
        and isinstance(node.args[0], ast.Attribute)
        and node.args[0].attr == "template"
        and [kw.arg for kw in node.keywords] == [None]
    )


def house_faults(modules) -> tuple[list[str], set]:
    """Every refusal made from anything but one N_ template and values that fill its fields,
    every plain ValueError with a message that NOT_SAID does not explain, and every other
    ValueError that NOT_REFUSALS does not; and the entries of both that were used."""
    faults, used = [], set()
    for relative, module, source in modules:
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.Call):
                continue
            made = _resolve(node.func, module)
            where = f"tracker/{relative}:{node.lineno}"
            if isinstance(made, type) and issubclass(made, Refusal):
                if _passed_on(node):
                    continue
                if not node.args or not _is_template(node.args[0]) or len(node.args) > 1:
                    faults.append(f"{where}: a {made.__name__} not made from one N_(template)")
                    continue
                if any(kw.arg is None for kw in node.keywords):
                    continue  # values given as **mapping: their names are checked where made
                fields = set(FIELD.findall(node.args[0].args[0].value))
                given = {kw.arg for kw in node.keywords}
                if fields != given:
                    faults.append(f"{where}: the template's fields {fields} but values {given}")
            elif isinstance(made, type) and issubclass(made, ValueError) and made is not ValueError:
                name = f"{made.__module__.removeprefix('tracker.')}.{made.__qualname__}"
                if name in NOT_REFUSALS:
                    used.add(name)
                else:
                    faults.append(
                        f"{where}: a {made.__name__} a person may read: make it a Refusal"
                    )
            elif made is ValueError and node.args:
                words = _first_words(node.args[0]) or ""
                known = next(
                    (k for k in NOT_SAID if k[0] == relative and words.startswith(k[1])), None
                )
                if known is None:
                    faults.append(f"{where}: a ValueError a person may read: make it a Refusal")
                else:
                    used.add(known)
    return faults, used


def test_the_domain_refuses_in_sentences_the_console_can_translate():
    faults, used = house_faults(domain_modules())
    assert faults == []
    assert {*NOT_SAID, *NOT_REFUSALS} - used == set(), "an entry for what is no longer there"


def test_the_house_rule_sees_what_cannot_be_translated(tmp_path, monkeypatch):
    """The check itself: a Refusal made from an f-string, one whose values do not fill its
    template, and a plain ValueError with a message are each caught; a good one is not."""
    source = (
        "from tracker.contract.sentences import N_, Refusal\n"
        "def good(n):\n    raise Refusal(N_('at most %(max)s'), max=n)\n"
        "def bad(n):\n    raise Refusal(f'at most {n}')\n"
        "def unnamed(n):\n    raise Refusal(N_('at most %(max)s'), most=n)\n"
        "def plain(n):\n    raise ValueError(f'at most {n}')\n"
    )
    (tmp_path / "refusal_probe.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("refusal_probe")
    faults, _ = house_faults([("probe.py", module, source)])
    assert [fault.split(": ", 1)[1] for fault in faults] == [
        "a Refusal not made from one N_(template)",
        "the template's fields {'max'} but values {'most'}",
        "a ValueError a person may read: make it a Refusal",
    ]
