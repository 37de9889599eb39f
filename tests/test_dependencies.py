"""The dependencies pull their weight and are used as their authors document them: tracker
imports only what requirements.in brings (so not `requests`), e-mail addresses are checked by
email-validator, tracker's state about a connection lives beside sqlite-utils' Database, not on
it, and the screens' rooms are counted by tracker, not read out of python-socketio."""

from __future__ import annotations

import ast
import gc
import re
import sys
import weakref
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

import pytest
from flask import Flask
from packaging.requirements import Requirement
from pydantic import ValidationError

from tracker.followups import queue as followup_queue
from tracker.people import profile
from tracker.store import db as dbm
from tracker.web import live

ROOT = Path(__file__).resolve().parent.parent


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(path: Path) -> set[str]:
    """The distributions a requirements.in names, and every one they need in turn."""
    todo = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            todo.append(_canonical(Requirement(line).name))
    found: set[str] = set()
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        try:
            needs = requires(name) or []
        except PackageNotFoundError:
            continue
        for text in needs:
            need = Requirement(text)
            if need.marker is None or need.marker.evaluate({"extra": ""}):
                todo.append(_canonical(need.name))
    return found


def _third_party_imports() -> set[str]:
    """The top-level modules tracker/ imports that are neither the standard library nor its own."""
    found = set()
    for file in (ROOT / "tracker").rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text(), str(file))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"tracker", "__future__"}


def test_tracker_imports_only_what_the_runtime_requirements_bring():
    declared = _declared(ROOT / "requirements.in")
    providers = packages_distributions()
    imported = _third_party_imports()
    missing = {
        module: providers.get(module, [module])
        for module in imported
        if not {_canonical(d) for d in providers.get(module, [module])} & declared
    }
    assert missing == {}
    assert "requests" not in imported and "email_validator" in imported


@pytest.mark.parametrize(
    "address",
    [
        "ana@example.com",
        "Ann.Lee+board@mail.example.co.uk",
        "josé@exämple.de",
        "o'brien@example.ie",
    ],
)
def test_ordinary_addresses_are_addresses(address):
    assert profile.is_email(address) and profile.is_email(f"  {address} ")
    assert followup_queue.contact_href(address) == "mailto:" + address
    assert profile.ProfileIn(email=address, consent=True).email == address


@pytest.mark.parametrize(
    "address",
    [
        # What the hand-written patterns took for addresses, and no mail server would.
        "ann@example..org",
        "ann..lee@example.org",
        ".ann@example.org",
        "ann@example.org.",
        "ann@exa_mple.org",
        "ann@example.test",
        # What they refused too.
        "ann@example",
        "ann@@example.org",
        "ann lee@example.org",
        "ann@example.org, kim@example.org",
        "call the front desk",
    ],
)
def test_what_is_not_an_address_is_refused(address):
    assert not profile.is_email(address)
    assert followup_queue.contact_href(address) is None
    with pytest.raises(ValidationError, match="does not look like an email"):
        profile.ProfileIn(email=address, consent=True)


def test_nothing_is_no_address():
    assert not profile.is_email(None) and not profile.is_email("") and not profile.is_email("  ")
    assert profile.ProfileIn(email="").email == ""


def test_tracker_sets_no_attribute_on_a_database(tmp_path):
    db = dbm.connect(tmp_path / "tracker.db")
    own = set(vars(db))
    dbm.migrate(db)
    dbm.health(db)
    assert dbm.group_write(db, lambda d: d.execute("SELECT 1").fetchone()[0]) == 1
    assert set(vars(db)) == own
    assert dbm.path_of(db).endswith("tracker.db")
    assert dbm.state_of(db) is dbm.state_of(db)
    other = dbm.connect(":memory:")
    assert dbm.path_of(other) != dbm.path_of(db) and dbm.state_of(other) is not dbm.state_of(db)
    gone = weakref.ref(db)
    db.close()
    del db
    gc.collect()
    assert gone() is None  # the state kept beside a Database does not keep it alive


def test_the_watcher_counts_the_screens_of_each_room():
    watcher = live.Watcher(Flask(__name__))
    watcher.started = True  # no task: only the bookkeeping of the handlers is looked at
    watcher.add("a", None)
    watcher.add("b", "cork")
    watcher.add("c", "cork")
    assert watcher.watching == {None: 1, "cork": 2}
    assert watcher.pending == {"a", "b", "c"}
    watcher.last_sent.update({None: {"total": 1}, "cork": {"total": 2}})
    watcher.add("b", "austin")  # moves: cork still has a screen
    watcher.add("c", "cork")  # asks again for the room it is in
    assert watcher.watching == {None: 1, "cork": 1, "austin": 1}
    assert set(watcher.last_sent) == {None, "cork"}
    watcher.remove("c")  # the last screen of cork: what it was sent is forgotten
    watcher.remove("nobody")
    assert watcher.watching == {None: 1, "austin": 1}
    assert set(watcher.last_sent) == {None}
    assert watcher.screens == {"a": None, "b": "austin"} and "c" not in watcher.pending
