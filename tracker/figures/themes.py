"""Themes as every surface shows them: each with its size and its NPS by the one rule
(scoreboard.nps over the theme's stories that count), for organizers (GET /api/themes, the
console), for the public (/insights: public names only, engine.py says why) and for the report
("What customers told us")."""

from __future__ import annotations

from typing import Literal

from sqlite_utils import Database

from ..contract.responses import Nps, ThemeOut, ThemesOut
from ..store import db as dbm
from ..store.db import Row
from ..stories.text import short_story
from ..themes import listing, reading
from .scoreboard import nps, nps_band

REPORT_THEMES = 6  # themes that open the report
REPORT_STORIES = 3  # approved stories quoted under each


def theme_nps(scores: dict[int, int]) -> Nps:
    """The NPS of a theme's answers ({score: how many}), by the board's own rule."""
    bands = {"promoter": 0, "passive": 0, "detractor": 0}
    for score, n in scores.items():
        bands[nps_band(score)] += n
    return nps(bands["promoter"], bands["passive"], bands["detractor"])


def shown(theme: listing.Theme) -> ThemeOut:
    return ThemeOut(
        id=theme["id"],
        label=theme["label"],
        size=theme["size"],
        nps=theme_nps(theme["scores"]),
        conversations=theme["conversations"],
        hidden=theme["hidden"],
        language=theme["language"],
    )


def for_organizers(
    db: Database, event_id: int, voice: Literal["customers", "employees"] = "customers"
) -> ThemesOut:
    """GET /api/themes: every theme of the voice, largest first (hidden ones marked), and the
    ids of the stories in no theme."""
    return ThemesOut(
        themes=[shown(t) for t in listing.themes(db, event_id, voice)],
        unthemed=[r["uuid"] for r in listing.unthemed(db, event_id, voice)],
        voice=voice,
    )


def for_public(db: Database, event_id: int) -> list[Row]:
    """Customers' themes /insights may name, largest first: not hidden, with a public name;
    each with id, label, size, NPS and the detractors and promoters among its answers."""
    found = []
    for theme in listing.themes(db, event_id, "customers", hidden=False):
        if not theme["public_label"]:
            continue
        if not theme["renamed_by"]:  # read again now: a story rejected since takes its words along
            texts = [s["story"] for s in listing.stories(db, theme["public_ids"][:40])]
            if not reading.mentions(theme["public_label"], texts):
                continue
        score = theme_nps(theme["scores"])
        found.append(
            {"id": theme["id"], "label": theme["public_label"], "size": theme["size"], "nps": score}
        )
    return found


def customers_told_us(db: Database, event_id: int) -> list[Row]:
    """The report's opening: the largest customers' themes (not hidden), each with its NPS and
    up to REPORT_STORIES approved stories (newest first; never who told them)."""
    told = []
    for theme in listing.themes(db, event_id, "customers", hidden=False)[:REPORT_THEMES]:
        quoted = dbm.rows(
            db.execute(
                "SELECT c.story, coalesce(s.name, '') AS station, l.name AS location, c.nps"
                " FROM conversations c JOIN stations s ON s.id = c.station_id"
                " JOIN locations l ON l.id = s.location_id"
                f" WHERE {listing.in_theme('c')} AND c.approval = 'approved'"
                " AND c.voided_at IS NULL AND c.held_from IS NULL AND trim(c.story) != ''"
                " ORDER BY c.id DESC LIMIT ?",
                [theme["id"], REPORT_STORIES],
            )
        )
        told.append(
            {
                "id": theme["id"],
                "label": theme["label"],
                "size": theme["size"],
                "nps": theme_nps(theme["scores"]),
                "stories": [{**q, "story": short_story(q["story"])} for q in quoted],
            }
        )
    return told
