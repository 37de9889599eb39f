"""Themes found in the stories themselves (tracker/themes): measured on a realistic set of stories
in four languages (tests/theme_stories.py), stable from one pass to the next, blind to what does
not count, and curated by organizers without the machine undoing it."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from itertools import combinations
from pathlib import Path

import pytest

from tracker.contract.requests import ConversationIn
from tracker.corrections import rehearsal
from tracker.event import file as eventfile
from tracker.event import lookups as events
from tracker.event import setup as eventsetup
from tracker.store import db as dbm
from tracker.stories import record
from tracker.themes import curation, engine, listing, reading

from .theme_stories import STORIES

EVENT_FILE = """
[event]
slug = "themes-day"
name = "Themes Day"
goal = 1000
timezone = "Europe/Dublin"

[[locations]]
slug = "cork"
name = "Cork"
city = "Cork"
country = "IE"
timezone = "Europe/Dublin"
language = "en"
  [[locations.stations]]
  slug = "cork-booth"
  name = "Cork booth"
  kind = "booth"
  pin = "1111"

[[locations]]
slug = "berlin"
name = "Berlin"
city = "Berlin"
country = "DE"
timezone = "Europe/Berlin"
language = "de"
  [[locations.stations]]
  slug = "berlin-booth"
  name = "Berlin booth"
  kind = "booth"
  pin = "2222"

[[locations]]
slug = "madrid"
name = "Madrid"
city = "Madrid"
country = "ES"
timezone = "Europe/Madrid"
language = "es"
  [[locations.stations]]
  slug = "madrid-booth"
  name = "Madrid booth"
  kind = "booth"
  pin = "3333"

[[locations]]
slug = "tokyo"
name = "Tokyo"
city = "Tokyo"
country = "JP"
timezone = "Asia/Tokyo"
language = "ja"
  [[locations.stations]]
  slug = "tokyo-booth"
  name = "Tokyo booth"
  kind = "booth"
  pin = "4444"
"""
STATION_OF = {"en": "cork-booth", "de": "berlin-booth", "es": "madrid-booth", "ja": "tokyo-booth"}


@pytest.fixture
def day(db, tmp_path: Path):
    path = tmp_path / "themes-day.toml"
    path.write_text(EVENT_FILE)
    ev = eventsetup.load_event(db, eventfile.read_event_file(path)).event
    ev["stations"] = {s["slug"]: s for s in events.stations(db, ev["id"])}
    return ev


def tell(
    db,
    day,
    text: str,
    language: str = "en",
    nps: int | None = None,
    public: bool = True,
    rehearsal: bool = False,
):
    """A staff conversation at the booth of the language's location; returns its row id."""
    station = day["stations"][STATION_OF[language]]
    author = record.Author(source="staff", station_id=station["id"], staff_name="Ann")
    data = ConversationIn(id=uuid.uuid4(), story=text, nps=nps, public=public)
    stored, _ = record.record(db, day, data, author, rehearsal=rehearsal)
    row = db.execute("SELECT id FROM conversations WHERE uuid = ?", [str(data.id)]).fetchone()
    return int(row[0])


def theme_of(db) -> dict[int, int]:
    return {
        cid: tid
        for cid, tid in db.execute(
            "SELECT conversation_id, theme_id FROM theme_stories WHERE theme_id IS NOT NULL"
        )
    }


def measure(ids: dict[int, tuple[str, str]], placed: dict[int, int]) -> dict[str, float]:
    """Purity: of the stories in themes, the share in a theme whose most common subject is
    theirs. Coverage: of all stories, the share in such a theme. Together (pairs): of two
    stories about the same thing told in the same language, the share that share a theme; apart:
    of two themed stories about different things, the share that do not."""
    members: dict[int, list[int]] = {}
    for cid, tid in placed.items():
        members.setdefault(tid, []).append(cid)
    right = 0
    for story_ids in members.values():
        subject, n = Counter(ids[c][0] for c in story_ids).most_common(1)[0]
        right += n
    themed = len(placed)
    same = [
        (a, b) for a, b in combinations(ids, 2) if ids[a][0] == ids[b][0] and ids[a][1] == ids[b][1]
    ]
    other = [(a, b) for a, b in combinations(placed, 2) if ids[a][0] != ids[b][0]]
    return {
        "purity": right / themed if themed else 0.0,
        "coverage": right / len(ids),
        "together": sum(a in placed and placed.get(a) == placed.get(b) for a, b in same)
        / len(same),
        "apart": sum(placed[a] != placed[b] for a, b in other) / len(other) if other else 1.0,
    }


def test_language_of_a_story():
    assert reading.language_of("The wifi kept dropping in the hall") == "en"
    assert reading.language_of("Your dashboard needs a dark mode") == "en"
    # "a" is a word of Portuguese, Spanish and French, never a sign of English.
    assert reading.language_of("Adorei a cabine", hint="en") == "pt"
    assert reading.language_of("Le stand a été génial", hint="en") == "fr"
    assert reading.language_of("Volveré a visitar el stand", hint="en") == "es"
    assert reading.language_of("Das WLAN war sehr langsam und ist ständig abgebrochen") == "de"
    assert reading.language_of("La conexión es muy lenta, no pude ni abrir el correo") == "es"
    assert reading.language_of("会場のWi-Fiが全然つながらなかった") == "ja"
    assert reading.language_of("展位的无线网络太慢了") == "zh"
    assert reading.language_of("zu teuer", hint="de") == "de"  # too short to tell: the location's
    assert reading.language_of("ok", hint="ja") == "en"


def test_words_leave_out_stop_words_and_join_spellings():
    assert reading.words("The Wi-Fi was down for most of the morning", "en") == [
        "wifi",
        "morning",
    ]
    assert "wifi" in reading.words("会場のWi-Fiが全然つながらなかった", "ja")
    assert "コーヒー" in reading.words("ブースのコーヒーが美味しかった", "ja")
    assert reading.stem("queues", "en") == reading.stem("queue", "en")
    # Marks belong to their letters: a Hindi word is not cut at its vowel signs.
    assert reading.words("बूथ पर वाईफाई बहुत धीमा था", "hi") == ["बूथ", "वाईफाई", "धीमा"]
    assert "האינטרנט" in reading.words("האינטרנט בדוכן היה איטי מאוד", "he")
    assert "无线网络" in reading.words("展位的无线网络太慢了", "zh")


def test_themes_of_a_realistic_multilingual_set(db, day, capsys):
    """Stories about the same thing share a theme and stories about different things do not:
    told in four batches, as a day brings them, each batch read by one pass."""
    ids: dict[int, tuple[str, str]] = {}
    order = sorted(range(len(STORIES)), key=lambda i: (i * 37) % len(STORIES))  # mixed subjects
    for batch in range(4):
        for i in order[batch::4]:
            subject, language, text, score = STORIES[i]
            ids[tell(db, day, text, language, score)] = (subject, language)
        engine.refresh(db)
    placed = theme_of(db)
    figures = measure(ids, placed)
    themes = listing.themes(db, day["id"])
    with capsys.disabled():
        print(
            f"\nthemes: {len(themes)} from {len(ids)} stories;"
            + " ".join(f" {k} {v:.2f}" for k, v in figures.items())
        )
        for theme in themes:
            subjects = Counter(ids[c][0] for c in theme["conversation_ids"])
            print(
                f"  {theme['id']:>3} {theme['label'][:40]:<40} {theme['size']:>3} {dict(subjects)}"
            )
    assert figures["purity"] >= 0.9
    assert figures["coverage"] >= 0.75
    assert figures["apart"] >= 0.98
    # Every subject is found, in more than one language somewhere.
    found = {Counter(ids[c][0] for c in t["conversation_ids"]).most_common(1)[0][0] for t in themes}
    assert found == {s for s, *_ in STORIES}


def _told(db, day, texts: list[tuple[str, int]], language: str = "en") -> list[int]:
    return [tell(db, day, text, language, score) for text, score in texts]


WIFI = [
    ("The wifi in the hall kept dropping", 4),
    ("wifi was down all morning, the wifi network is useless", 3),
    ("Could not connect to the wifi at all", 5),
    ("wifi so slow I gave up", 4),
]
COFFEE = [
    ("Best coffee at the conference", 10),
    ("Thanks for the free coffee", 9),
    ("coffee at your booth was great", 9),
]


def test_stable_themes_and_what_does_not_count(db, day):
    wifi = _told(db, day, WIFI)
    engine.refresh(db)
    (theme,) = listing.themes(db, day["id"])
    assert set(theme["conversation_ids"]) == set(wifi)
    label = theme["label"]
    assert "wifi" in label.lower()
    # New stories: the theme keeps its id, label and members; coffee makes a theme of its own.
    more = _told(db, day, [("wifi dropped again during the demo", 5), *COFFEE])
    engine.refresh(db)
    themes = {t["id"]: t for t in listing.themes(db, day["id"])}
    assert themes[theme["id"]]["label"] == label
    assert set(wifi) | {more[0]} == set(themes[theme["id"]]["conversation_ids"])
    assert len(themes) == 2
    # Voided, held and rehearsal stories leave every theme's figures at once.
    db.execute(
        "UPDATE conversations SET voided_at = '2026-01-01T00:00:00Z' WHERE id = ?", [wifi[0]]
    )
    db.execute("UPDATE conversations SET held_from = '192.0.2.1' WHERE id = ?", [wifi[1]])
    db.execute("UPDATE conversations SET rehearsal = 1 WHERE id = ?", [wifi[2]])
    after = listing.theme(db, day["id"], theme["id"])
    assert after["size"] == 2 and wifi[0] not in after["conversation_ids"]
    # The scores are those that count; the NPS is the board's rule.
    from tracker.figures.themes import theme_nps

    assert theme_nps(after["scores"])["detractors"] == 2


def test_curation_is_audited_and_never_undone(db, day):
    _told(db, day, WIFI)
    coffee = _told(db, day, COFFEE)
    engine.refresh(db)
    by_size = listing.themes(db, day["id"])
    wifi_theme, coffee_theme = by_size[0]["id"], by_size[1]["id"]
    curation.rename(db, day["id"], wifi_theme, "Venue Wi-Fi", "Ann")
    curation.move(db, day["id"], coffee[0], None, "Ann")
    curation.hide(db, day["id"], coffee_theme, "Ann")
    tell(db, day, "the wifi keeps dropping and the wifi network is slow", "en", 3)
    tell(db, day, "Best coffee ever, free coffee all day", "en", 10)
    engine.refresh(db)
    themes = {t["id"]: t for t in listing.themes(db, day["id"])}
    assert themes[wifi_theme]["label"] == "Venue Wi-Fi"
    assert themes[wifi_theme]["size"] == 5
    assert (
        themes[coffee_theme]["hidden"] and themes[coffee_theme]["size"] == 3
    )  # caught the new one
    assert coffee[0] in {r["id"] for r in listing.unthemed(db, day["id"])}
    assert [t["id"] for t in listing.themes(db, day["id"], hidden=False)] == [wifi_theme]
    curation.merge(db, day["id"], coffee_theme, wifi_theme, "Bob")
    assert not listing.exists(db, day["id"], coffee_theme)
    assert listing.theme(db, day["id"], wifi_theme)["size"] == 8
    actions = [r[0] for r in db.execute("SELECT action FROM audit WHERE action LIKE 'theme.%'")]
    assert actions == ["theme.rename", "theme.move", "theme.hide", "theme.merge"]
    with pytest.raises(curation.BadLabel):
        curation.rename(db, day["id"], wifi_theme, "   ", "Ann")
    with pytest.raises(listing.UnknownTheme):
        curation.hide(db, day["id"], coffee_theme, "Ann")  # merged: gone


def test_public_name_comes_from_approved_public_stories_only(db, day):
    for text, score in WIFI:
        tell(db, day, text + " said Jane Doe", "en", score, public=False)
    engine.refresh(db)
    (theme,) = listing.themes(db, day["id"])
    assert theme["public_label"] is None  # no approved public story: no public name
    from tracker.figures import themes as shown

    assert shown.for_public(db, day["id"]) == []
    tell(db, day, "The wifi was slow", "en", 5, public=True)
    engine.refresh(db)
    (theme,) = listing.themes(db, day["id"])
    assert theme["public_label"] and "jane" not in theme["public_label"].lower()
    assert reading.mentions(theme["public_label"], ["The wifi was slow"])


def test_the_report_opens_with_what_customers_told_us(db, day):
    from tracker.figures import report

    _told(db, day, WIFI)
    engine.refresh(db)
    built = report.build(db, day)
    assert built["themes"][0]["size"] == 4 and len(built["themes"][0]["stories"]) == 3


# ---------------------------------------------------------------- HTTP: the API and the console


def _small_event_stories(db, event, texts) -> list[int]:
    station = event["stations"]["booth"]
    author = record.Author(source="staff", station_id=station["id"], staff_name="Ann")
    ids = []
    for text, score in texts:
        data = ConversationIn(id=uuid.uuid4(), story=text, nps=score, public=True)
        record.record(db, event, data, author)
        ids.append(str(data.id))
    return ids


def test_api_themes_for_organizers(db, event, admin, client, app):
    wifi = _small_event_stories(db, event, WIFI)
    lone = _small_event_stories(db, event, [("The keynote speaker was inspiring", 10)])
    engine.refresh(db)
    r = admin.get("/api/themes")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    body = r.get_json()
    (theme,) = body["themes"]
    assert set(theme["conversations"]) == set(wifi) and theme["size"] == 4
    assert theme["nps"] == {
        "score": -100,
        "promoters": 0,
        "passives": 0,
        "detractors": 4,
        "responses": 4,
    }
    assert body["unthemed"] == lone and body["voice"] == "customers"
    assert admin.get("/api/themes?voice=employees").get_json()["themes"] == []
    assert admin.get("/api/themes?voice=robots").status_code == 400
    from pydantic import TypeAdapter

    from tracker.contract.responses import ThemesOut

    TypeAdapter(ThemesOut).validate_python(body)
    assert "/api/themes" in client.get("/openapi.json").get_json()["paths"]


def test_api_themes_refuses_anonymous_and_staff(client):
    assert client.get("/api/themes").status_code == 401


def test_console_themes_page_and_changes(db, event, admin):
    _small_event_stories(db, event, WIFI)
    coffee = _small_event_stories(db, event, COFFEE)
    engine.refresh(db)
    page = admin.get("/admin/themes").get_data(as_text=True)
    assert "Plan an action" in page and "/admin/actions/new?theme=" in page
    assert 'href="/admin/themes"' in admin.get("/admin/").get_data(as_text=True)
    wifi_id, coffee_id = (t["id"] for t in listing.themes(db, event["id"]))
    r = admin.post(f"/admin/themes/{wifi_id}", data={"do": "rename", "label": "Venue Wi-Fi"})
    assert r.status_code == 302
    assert "Venue Wi-Fi" in admin.get("/admin/themes").get_data(as_text=True)
    admin.post(f"/admin/themes/{coffee_id}", data={"do": "hide"})
    assert listing.theme(db, event["id"], coffee_id)["hidden"]
    row = db.execute("SELECT id FROM conversations WHERE uuid = ?", [coffee[0]]).fetchone()[0]
    admin.post("/admin/themes/move", data={"conversation": row, "theme": wifi_id})
    assert row in listing.theme(db, event["id"], wifi_id)["conversation_ids"]
    admin.post(f"/admin/themes/{coffee_id}", data={"do": "merge", "into": wifi_id})
    assert not listing.exists(db, event["id"], coffee_id)
    assert admin.post(f"/admin/themes/{coffee_id}", data={"do": "hide"}).status_code == 404
    assert (
        admin.post(f"/admin/themes/{wifi_id}", data={"do": "rename", "label": ""}).status_code
        == 302
    )


# ---------------------------------------------------------------- /insights: public, filtered


def test_insights_names_public_themes_and_filters_by_one(db, event, client):
    _small_event_stories(db, event, WIFI)
    _small_event_stories(db, event, COFFEE)
    station = event["stations"]["booth"]
    author = record.Author(source="staff", station_id=station["id"], staff_name="Ann")
    for text in ("The private wifi complaint of Jane Doe", "Jane Doe says wifi is down"):
        record.record(db, event, ConversationIn(id=uuid.uuid4(), story=text, nps=2), author)
    engine.refresh(db)
    body = client.get("/api/insights").get_json()
    named = body["choices"]["themes"]
    assert [t["size"] for t in named] == sorted((t["size"] for t in named), reverse=True)
    assert all("jane" not in t["label"].lower() for t in named)
    wifi = next(t for t in named if "wifi" in t["label"].lower())
    assert body["talk"]["detractors"][0]["id"] == wifi["id"]
    assert body["talk"]["promoters"][0]["label"].lower().count("coffee") == 1
    filtered = client.get(f"/api/insights?theme={wifi['id']}").get_json()
    assert filtered["filters"]["theme"] == wifi["id"]
    assert {s["story"] for s in filtered["stories"]} == {text for text, _ in WIFI}
    assert filtered["nps"]["responses"] == wifi["nps"]["responses"]
    assert client.get("/api/insights?theme=999").status_code == 404
    assert client.get("/api/insights?theme=wifi").status_code == 400
    # Hidden: not named, not a filter.
    curation.hide(db, event["id"], wifi["id"], "Ann")
    assert wifi["id"] not in {
        t["id"] for t in client.get("/api/insights").get_json()["choices"]["themes"]
    }
    assert client.get(f"/api/insights?theme={wifi['id']}").status_code == 404
    page = client.get("/insights").get_data(as_text=True)
    assert 'id="themes-panel"' in page and "What detractors talk about" in page


def test_a_public_story_edited_is_read_again_for_the_public_name(db, day):
    ids = [tell(db, day, text, "en", score) for text, score in WIFI]
    engine.refresh(db)
    (theme,) = listing.themes(db, day["id"])
    before = theme["public_label"]
    assert before
    for cid in ids:  # every public story now says something else about the wifi
        db.execute(
            "UPDATE conversations SET story = 'wifi network broken near hall C' WHERE id = ?", [cid]
        )
    engine.refresh(db)
    (theme,) = listing.themes(db, day["id"])
    assert reading.mentions(theme["public_label"], ["wifi network broken near hall C"])


def test_employees_stories_are_themed_apart(db, day):
    from tracker.stories import employees

    for text in (
        "I fixed a customer's wifi setup in the hall today",
        "Helped a customer whose wifi kept dropping",
        "Walked a customer through the wifi settings",
    ):
        employees.record(db, day["id"], "cork", uuid.uuid4(), text, public=False)
    _told(db, day, WIFI)
    engine.refresh(db)
    (customers,) = listing.themes(db, day["id"], "customers")
    (colleagues,) = listing.themes(db, day["id"], "employees")
    assert customers["size"] == 4 and colleagues["size"] == 3
    assert not set(customers["conversation_ids"]) & set(colleagues["conversation_ids"])
    assert colleagues["voice"] == "employees" and colleagues["scores"] == {}


def test_a_pass_runs_for_new_stories_not_for_those_that_found_no_theme(db, day):
    lone = tell(db, day, "The keynote speaker was inspiring", "en", 10)
    engine.refresh(db)
    assert engine._waiting_groups(db) == []  # tried: nothing to do until a new story comes
    _told(db, day, [("The keynote was inspiring", 9), ("What an inspiring keynote speaker", 10)])
    done = engine.refresh(db)
    assert (
        done.new_themes
        and lone in listing.theme(db, day["id"], done.new_themes[0])["conversation_ids"]
    )


def words_of(db, conversation_id: int) -> list[str]:
    (words,) = db.execute(
        "SELECT words FROM theme_stories WHERE conversation_id = ?", [conversation_id]
    ).fetchone()
    return json.loads(words)


def spelling_counts(db) -> dict[str, int]:
    return dict(db.execute("SELECT word, stories FROM theme_words WHERE stories > 0").fetchall())


def test_a_rehearsals_stories_never_decide_how_a_real_story_is_read(db, day):
    """`flask simulate` tells the same stories many times: their words must not become the
    frequent words a real story's misspelling is read as, during the rehearsal or after it."""
    for _ in range(3):
        tell(db, day, "The dashboard demo was great", rehearsal=True)
    engine.refresh(db)
    real = tell(db, day, "Your dashbaord needs a dark mode")
    engine.refresh(db)
    assert "dashbaord" in words_of(db, real)  # not read as the rehearsal's "dashboard"
    assert "dashboard" not in spelling_counts(db)
    counts_before_clear = spelling_counts(db)
    assert rehearsal.clear(db, day["id"])["conversations"] == 3
    assert spelling_counts(db) == counts_before_clear
    # Real stories make a word frequent as before.
    for _ in range(2):
        tell(db, day, "The dashboard is lovely")
    engine.refresh(db)
    later = tell(db, day, "My dashbord froze")
    engine.refresh(db)
    assert "dashboard" in words_of(db, later)


def test_schema_12_takes_a_past_rehearsals_words_out_of_the_spelling_counts(db, day):
    """A database themed under schema 11 counted a rehearsal's words, and kept them after the
    clear; migrating counts only what real stories say."""
    real = tell(db, day, "Your dashbaord needs a dark mode")
    other = tell(db, day, "The dashbord froze twice")
    fake = [tell(db, day, "The dashboard demo was great", rehearsal=True) for _ in range(3)]
    with dbm.write(db):  # as schema 11 left it: the rehearsal's stories read and counted
        db.execute(
            "INSERT OR IGNORE INTO theme_queue (conversation_id, at) SELECT id, '2026-10-07T10:00:00Z'"
            " FROM conversations"
        )
    engine.read_queued(db)
    assert {*fake} <= {r[0] for r in db.execute("SELECT conversation_id FROM theme_stories")}
    # The real stories' misspellings were read as the rehearsal's word, and counted as it.
    assert "dashboard" in words_of(db, real) and "dashboard" in words_of(db, other)
    assert spelling_counts(db)["dashboard"] == 5
    db.execute("ALTER TABLE nodes DROP COLUMN report")  # what schema 13 adds: back to schema 11
    db.execute("PRAGMA user_version = 11")
    assert dbm.migrate(db) == dbm.SCHEMA_VERSION  # as a server does at start
    engine.refresh(db)  # the real stories are read again, from their own words
    assert "dashbaord" in words_of(db, real) and "dashbord" in words_of(db, other)
    assert "dashboard" not in spelling_counts(db) and "demo" not in spelling_counts(db)
    assert db.execute("SELECT count(*) FROM theme_stories").fetchone() == (2,)
