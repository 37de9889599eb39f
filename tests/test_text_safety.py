"""Text safe in any script: control characters never stored, user text isolated from the text
beside it on screens, and scores as JSON Schema reads them."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tracker.contract.requests import ConversationIn, without_controls

from .helpers import sign_in_session

ROOT = Path(__file__).resolve().parent.parent
RLO = "\u202e"


def test_control_characters_are_removed_and_line_breaks_kept():
    assert without_controls("a\x00b\x1b[31mc\x7f\x9bd\r\ne\tf") == "ab[31mcd\ne f"


def test_the_api_refuses_control_characters_clearly_and_stores_nothing(client, db, event):
    with client.session_transaction() as session:
        sign_in_session(session, db, event["stations"]["booth"]["id"])
    body = {"id": str(uuid.uuid4()), "story": "Great\x00 demo\x1b!", "nps": 9}
    answer = client.post("/api/conversations", json=body)
    assert answer.status_code == 400
    assert answer.get_json()["detail"] == [
        {"field": "story", "problem": "control characters (other than line breaks) are not allowed"}
    ]
    assert db.execute("SELECT count(*) FROM conversations").fetchone() == (0,)
    body = {**body, "story": "Great demo!\r\nThanks\tall"}
    assert client.post("/api/conversations", json=body).status_code == 201
    assert db.execute("SELECT story FROM conversations").fetchone() == ("Great demo!\nThanks all",)


def test_a_form_drops_control_characters(client, db, event):
    from tracker.stories import employees

    told = employees.record(db, event["id"], "cork", uuid.uuid4(), "Fixed\x00 it\x1b", True)
    story = db.execute("SELECT story FROM conversations WHERE uuid = ?", [told["id"]]).fetchone()
    assert story == ("Fixed it",)


@pytest.mark.parametrize(("nps", "ok"), [(5, True), (5.0, True), (5.5, False), (True, False),
                                         ("5", False), (11, False)])  # fmt: skip
def test_a_score_is_a_whole_number_as_json_writes_it(nps, ok):
    body = {"id": str(uuid.uuid4()), "story": "x", "nps": nps}
    if ok:
        assert ConversationIn.model_validate(body).nps == 5
    else:
        with pytest.raises(ValueError):
            ConversationIn.model_validate(body)


@pytest.mark.browser
def test_a_right_to_left_override_in_a_story_cannot_reverse_its_attribution(browser):
    """The board's ticker line: the story, then who and where. A story ending in an unclosed
    RLO must leave the attribution after it, in reading order, as the board's CSS isolates it."""
    css = (ROOT / "static" / "board" / "board.css").read_text()
    page = browser.new_page()
    page.set_content(
        f"<style>{css}</style><p id='story' class='story' style='font-size:20px'>"
        f"<span class='quote' id='story-text'>Loved it {RLO}abc</span>"
        "<span class='by' id='story-by'> Main booth, Cork</span></p>"
    )
    text = page.locator("#story-text").bounding_box()
    by = page.locator("#story-by").bounding_box()
    assert by["x"] >= text["x"] + text["width"] - 1
    page.close()


def test_a_follow_up_note_and_owner_drop_control_characters(db, event, staff_author):
    from tracker.event import lookups as events
    from tracker.followups import changes as followups
    from tracker.stories import record as conversations

    data = ConversationIn(id=uuid.uuid4(), story="Call me", follow_up=True)
    record, _ = conversations.record(db, events.get_event(db), data, staff_author)
    note = followups.add_note(db, event["id"], record["id"], "Rang\x00 twice\x1b", "Ann")
    assert note["text"] == "Rang twice"
    owned = followups.assign(db, event["id"], record["id"], "Kim\x07 Lee", "Ann")
    assert owned["owner"] == "Kim Lee"
