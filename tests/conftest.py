"""Shared fixtures: a real SQLite file per test, the app, a client, a live server, a browser."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tracker import create_app, security
from tracker.event import file as eventfile
from tracker.event import lookups as events
from tracker.event import setup as eventsetup
from tracker.ops.serve import ServerProcess
from tracker.store import db as dbm
from tracker.stories.record import Author

# Cheap PIN and password hashing in the test process (hashes made here verify anywhere: the
# method is stored in the hash); servers started by tests keep scrypt.
security.HASH_METHOD = "pbkdf2:sha256:1000"

ROOT = Path(__file__).resolve().parent.parent
SMALL_EVENT = Path(__file__).parent / "data" / "small-event.toml"
DEMO_EVENT = ROOT / "tracker" / "data" / "demo-event.toml"
PINS = {"booth": "1111", "demo": "2222", "stories": "3333"}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# ---------------------------------------------------------------- markers: what a test starts
#
# A test that starts a process carries `live` (a server, gunicorn, Litestream, any subprocess) or
# `browser` (Chromium through Playwright); `./scripts/test --fast` leaves both out. The markers
# follow from the fixtures a test uses, and files that start processes themselves say so with
# `pytestmark`. A test without either marker that starts a process anyway fails at once.

PROCESS_MARKERS = ("browser", "live")
# Fixtures that start processes, with the marker each gives every test that uses it (directly
# or through another fixture). Module fixtures that start servers sit in files marked `live`.
PROCESS_FIXTURES = {
    "browser": "browser",
    "live_server": "live",
    "central_and_node": "live",  # tests/test_node_live.py
}


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for fixture, marker in PROCESS_FIXTURES.items():
            if fixture in used and item.get_closest_marker(marker) is None:
                item.add_marker(marker)


PROCESS_EVENTS = frozenset(
    {"subprocess.Popen", "os.system", "os.posix_spawn", "os.spawn", "os.exec", "os.fork"}
)
_unmarked: list[str] = []  # the id of the running test while it may start no process


def _refuse_processes(event: str, args: tuple) -> None:
    """An audit hook (it sees every process this Python starts, Playwright's driver included)."""
    if _unmarked and event in PROCESS_EVENTS:
        what = args[1] if event == "subprocess.Popen" else args[:1]
        raise RuntimeError(
            f"{_unmarked[0]} starts a process ({event} {what!r}) but is marked neither browser"
            " nor live: mark it (pytestmark = pytest.mark.live) so `./scripts/test --fast`"
            " leaves it out"
        )


def pytest_configure(config: pytest.Config) -> None:
    sys.addaudithook(_refuse_processes)  # for the whole run; it acts only within a test


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    """Setup, call and teardown of a test, its fixtures' included (a module's server starts in
    the setup of its first test)."""
    if not any(item.get_closest_marker(m) for m in PROCESS_MARKERS):
        _unmarked[:] = [item.nodeid]
    try:
        yield
    finally:
        _unmarked.clear()


# ---------------------------------------------------------------- a database, an app, a client


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "tracker.db"


@pytest.fixture
def db(db_path: Path):
    """A migrated, empty database file."""
    database = dbm.connect(db_path)
    dbm.migrate(database)
    yield database
    database.close()


@pytest.fixture
def event(db) -> dict:
    """The small test event, loaded; `event["stations"]` maps station slug to its row (with code)."""
    result = eventsetup.load_event(db, eventfile.read_event_file(SMALL_EVENT))
    ev = result.event
    ev["stations"] = {s["slug"]: s for s in events.stations(db, ev["id"])}
    return ev


@pytest.fixture
def make_app(db_path: Path, event):
    """Apps on the test database with settings of the test's own (rate limits off unless
    asked for); each test's connections are closed after it."""

    def make(**config):
        return create_app(
            {
                "TESTING": True,
                "DATABASE": str(db_path),
                "SECRET_KEY": "test-secret",
                "RATELIMIT_ENABLED": False,
                **config,
            }
        )

    yield make
    dbm.close_thread_dbs()


@pytest.fixture
def app(make_app):
    return make_app(PUBLIC_URL="https://tracker.example.org")


@pytest.fixture
def client(app):
    return app.test_client()


class LiveServer(ServerProcess):
    """A real `python -m tracker.ops.serve` (gunicorn) process on a free port (or on `port`)."""

    def __init__(self, db_path: Path, env: dict | None = None, port: int | None = None):
        env = {"TRACKER_DB": str(db_path), "SECRET_KEY": "live-test-secret", **(env or {})}
        super().__init__(env, port=port)
        self.db_path = db_path

    def start(self, timeout: float = 20) -> LiveServer:
        super().start(timeout)
        return self


@pytest.fixture
def live_server(db_path: Path, event):
    """A started server on the small test event; `live_server.url` is its base URL."""
    server = LiveServer(db_path).start()
    yield server
    server.stop(kill=True)  # nothing to drain: the test is over


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by Playwright (Playwright's own browser download is not used)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def phone(browser):
    """A phone-sized page (360x740, touch)."""
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, has_touch=True, is_mobile=True
    )
    yield context.new_page()
    context.close()


ORGANIZER_PASSWORD = "correct horse battery"


@pytest.fixture
def admin(app, client):
    """A client signed in as the organizer (forms without CSRF tokens for brevity)."""
    app.config["ADMIN_PASSWORD"] = ORGANIZER_PASSWORD
    app.config["WTF_CSRF_ENABLED"] = False
    r = client.post("/admin/login", data={"name": "admin", "password": ORGANIZER_PASSWORD})
    assert r.status_code == 302
    return client


@pytest.fixture
def booth(event) -> dict:
    """The test event's main booth (Cork), with its code."""
    return event["stations"]["booth"]


@pytest.fixture
def staff_author(booth):
    """Ann, logging at the booth."""
    return Author("staff", booth["id"], staff_name="Ann")
