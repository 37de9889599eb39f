"""scripts/bench themes: how long themes take, and what they add to a story's write.

- Time to theme N stories (1,000 and 10,000 by default): that many stories written as people
  speak, in English, German, Spanish and Japanese (tests/theme_stories.py, each told again with
  the small changes of speech: a word left out, a letter swapped, a word added), all waiting at
  once, then passes (tracker.themes.engine.refresh) until none waits: the seconds, the themes
  found, and their purity and coverage against the subjects the stories were written about.
- A pass after a few new stories: the delay a new story sees once the themes exist.
- The cost added to a story's write: the same staff conversations written through the domain
  (stories.record) with the themes' queue triggers and without them, in alternating rounds;
  the median of each round's microseconds per write. Reading and grouping happen in the themes'
  own process, never in the write.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from theme_stories import STORIES  # noqa: E402

from tracker.contract.requests import ConversationIn  # noqa: E402
from tracker.event import file as eventfile  # noqa: E402
from tracker.event import lookups as events  # noqa: E402
from tracker.event import setup as eventsetup  # noqa: E402
from tracker.store import db as dbm  # noqa: E402
from tracker.stories import record  # noqa: E402
from tracker.themes import engine  # noqa: E402

EVENT = ROOT / "tests" / "data" / "small-event.toml"
FILLERS = {
    "en": ["honestly", "today", "again", "really", "at the booth", "to be fair"],
    "de": ["ehrlich gesagt", "heute", "wieder", "leider", "am Stand"],
    "es": ["la verdad", "hoy", "otra vez", "en el stand", "sinceramente"],
    "ja": ["正直", "今日も", "また", "やっぱり"],
}


def spoken(text: str, language: str, rng: random.Random) -> str:
    """The story told again by someone else: a word dropped, a letter swapped, a word added."""
    if language == "ja":
        return rng.choice(FILLERS["ja"]) + text if rng.random() < 0.6 else text + "。"
    words = text.split()
    if len(words) > 4 and rng.random() < 0.5:
        del words[rng.randrange(len(words))]
    if rng.random() < 0.3:
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) > 4:
            j = rng.randrange(1, len(w) - 2)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    if rng.random() < 0.5:
        words.insert(rng.randrange(len(words) + 1), rng.choice(FILLERS[language]))
    return " ".join(words)


def fresh(folder: Path, name: str):
    db = dbm.connect(folder / name)
    dbm.migrate(db)
    event = eventsetup.load_event(db, eventfile.read_event_file(EVENT)).event
    event["stations"] = {s["slug"]: s for s in events.stations(db, event["id"])}
    return db, event


def tell(db, event, text: str, score: int | None) -> None:
    station = event["stations"]["booth"]
    author = record.Author(source="staff", station_id=station["id"], staff_name="Ann")
    record.record(db, event, ConversationIn(id=uuid.uuid4(), story=text, nps=score), author)


def theme_time(folder: Path, n: int, seed: int) -> None:
    rng = random.Random(seed)
    db, event = fresh(folder, f"themes-{n}.db")
    subjects: dict[int, str] = {}
    for _ in range(n):
        subject, language, text, score = rng.choice(STORIES)
        tell(db, event, spoken(text, language, rng), score)
        subjects[db.execute("SELECT max(id) FROM conversations").fetchone()[0]] = subject
    started = time.perf_counter()
    passes = 0
    while True:
        done = engine.refresh(db)
        passes += 1
        if not done.read and not done.placed:
            break
    seconds = time.perf_counter() - started
    placed = dict(
        db.execute("SELECT conversation_id, theme_id FROM theme_stories WHERE theme_id IS NOT NULL")
    )
    members: dict[int, list[int]] = {}
    for cid, tid in placed.items():
        members.setdefault(tid, []).append(cid)
    right = sum(Counter(subjects[c] for c in ids).most_common(1)[0][1] for ids in members.values())
    print(
        f"{n:>6,} stories: themed in {seconds:6.1f} s ({passes} passes, {1e3 * seconds / n:.2f} ms a"
        f" story), {len(members)} themes, purity {right / max(1, len(placed)):.2f},"
        f" coverage {right / n:.2f}, in no theme {n - len(placed)}"
    )
    for _ in range(5):
        subject, language, text, score = rng.choice(STORIES)
        tell(db, event, spoken(text, language, rng), score)
    started = time.perf_counter()
    done = engine.refresh(db)
    print(
        f"        then 5 new stories: one pass {time.perf_counter() - started:.2f} s"
        f" ({done.placed} placed)"
    )
    db.close()


def write_cost(folder: Path, writes: int, rounds: int) -> None:
    with_queue, _ = fresh(folder, "with.db")
    without, _ = fresh(folder, "without.db")
    for trigger in ("theme_queue_new", "theme_queue_edit"):
        without.execute(f"DROP TRIGGER {trigger}")
    dbs = {"with": with_queue, "without": without}
    evs = {}
    for name, db in dbs.items():
        ev = db.execute("SELECT * FROM events").fetchone()
        row = dict(
            zip([c[0] for c in db.execute("SELECT * FROM events").description], ev, strict=True)
        )
        row["stations"] = {s["slug"]: s for s in events.stations(db, row["id"])}
        row["topics"] = []
        evs[name] = row
    per: dict[str, list[float]] = {"with": [], "without": []}
    texts = [t for _, _, t, _ in STORIES]
    for r in range(rounds):
        for name in ("with", "without") if r % 2 == 0 else ("without", "with"):
            started = time.perf_counter()
            for i in range(writes):
                tell(dbs[name], evs[name], texts[i % len(texts)], 7)
            per[name].append(1e6 * (time.perf_counter() - started) / writes)
    a, b = statistics.median(per["with"]), statistics.median(per["without"])
    print(
        f"a story's write (stories.record, {writes} a round, {rounds} rounds, median): "
        f"{a:.0f} µs with the themes' queue, {b:.0f} µs without: {a - b:+.0f} µs ({100 * (a - b) / b:+.1f}%)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000", help="stories to theme, comma-separated")
    parser.add_argument(
        "--writes", type=int, default=500, help="writes per round of the write cost"
    )
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seed", type=int, default=26)
    parser.add_argument("--only", choices=("time", "write"), default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.only in (None, "write"):
            write_cost(folder, args.writes, args.rounds)
        if args.only in (None, "time"):
            for n in (int(s) for s in args.sizes.split(",")):
                theme_time(folder, n, args.seed)


if __name__ == "__main__":
    main()
