"""The audit trail in the organizer's language (#27): every action it records has words in the
console's catalogues, and the page says actions and fields in them, codes kept beside."""

from __future__ import annotations

import ast

from tracker.corrections import voids
from tracker.event import settings
from tracker.store import audit
from tracker.web.admin import audit_words

from .conftest import ROOT
from .helpers import add_checkins


def test_every_action_the_trail_records_has_words():
    assert set(audit_words.ACTIONS) == audit.ACTIONS


# What each audit.record call whose action is built (not a literal) can write, by its source.
BUILT = {
    "f\"customer.{('acknowledgement' if row['kind'] == 'acknowledgement' else 'closed')}\"": {
        "customer.acknowledgement",
        "customer.closed",
    },
    "f'action.{kind}'": {"action.title", "action.owner", "action.due", "action.status"},
    "f'story.{decision}'": {"story.approve", "story.reject"},
    "f'{table[:-1]}.{action}'": {
        "station.activate",
        "station.deactivate",
        "location.activate",
        "location.deactivate",
    },
    "f'{table[:-1]}.rename'": {"event.rename", "station.rename", "location.rename"},
    "f'{table[:-1]}.void'": {"checkin.void", "conversation.void"},
    "f'{table[:-1]}.restore'": {"checkin.restore", "conversation.restore"},
}


def written_actions() -> dict[str, set[str]]:
    """{where: the actions it may write} for every audit.record call in the package: literals,
    choices between literals, the built ones above, and event settings' _set_event literals."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "tracker").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            call = ast.unparse(node.func)
            if call == "audit.record":
                action = node.args[3]
            elif call == "_set_event":  # event/settings.py: it records the action it is given
                action = node.args[2]
            else:
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if isinstance(action, ast.Constant):
                found[where] = {action.value}
            elif isinstance(action, ast.IfExp) and all(
                isinstance(side, ast.Constant) for side in (action.body, action.orelse)
            ):
                found[where] = {action.body.value, action.orelse.value}  # type: ignore[attr-defined]
            elif ast.unparse(action) in BUILT:
                found[where] = BUILT[ast.unparse(action)]
            elif not (call == "audit.record" and ast.unparse(action) == "action"):
                found[where] = {f"<an action built as {ast.unparse(action)}: expand it in BUILT>"}
    return found


def test_every_action_any_code_writes_is_one_the_console_has_words_for():
    """A change whose action had no words would show its code; a registry that named an action
    nothing writes would be a lie. Found by reading every call, not only those tests make."""
    written = written_actions()
    unknown = {where: a - audit.ACTIONS for where, a in written.items() if a - audit.ACTIONS}
    assert not unknown, unknown
    assert set().union(*written.values()) == audit.ACTIONS


def test_the_audit_page_says_actions_and_fields_in_german(admin, db, event, booth):
    settings.set_goal(db, event["id"], 800, "admin")
    add_checkins(db, booth["id"])
    (checkin,) = db.execute("SELECT uuid FROM checkins").fetchone()
    voids.void(db, event["id"], "checkins", checkin, "admin", "a test scan")
    page = admin.get("/admin/audit", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert "Ziel geändert" in page and "Ziel: 800" in page
    assert "Check-in storniert" in page and "Grund: a test scan" in page
    assert "Goal changed" not in page and "goal: 800" not in page
    # The codes stay beside the words: the CSV and the filter use them.
    assert '<code class="muted">event.goal</code>' in page
    # A change made on the command line, and a value that was nothing, in words too.
    assert "Kommandozeile" in page and "letzter Tag: —" in page and "None" not in page
    hebrew = admin.get("/admin/audit", headers={"Accept-Language": "he"}).get_data(as_text=True)
    assert "היעד שונה" in hebrew and "יעד: 800" in hebrew
