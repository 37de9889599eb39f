"""The audit trail in the organizer's language (#27): every action it records has words in the
console's catalogues, and the page says actions and fields in them, codes kept beside."""

from __future__ import annotations

import pytest

from tracker.corrections import voids
from tracker.event import settings
from tracker.store import audit
from tracker.web.admin import audit_words

from .helpers import add_checkins


def test_every_action_the_trail_records_has_words():
    assert set(audit_words.ACTIONS) == audit.ACTIONS


def test_an_action_the_trail_does_not_know_is_a_mistake_not_a_row(db, event):
    with pytest.raises(ValueError, match="not an audit action"):
        audit.record(db, event["id"], "organizer", "checkin.vanish", "a check-in")
    assert db.execute("SELECT count(*) FROM audit WHERE action = 'checkin.vanish'").fetchone() == (
        0,
    )


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
