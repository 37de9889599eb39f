"""The day keeps running whatever one client does: sign-in that strangers cannot turn against
staff, sessions that end, 429s that say when to come back, PIN hashing outside write locks."""

from __future__ import annotations

import socket
import uuid
from contextlib import contextmanager

import pytest

from tracker import create_app
from tracker.event import file as eventfile
from tracker.event import lookups as events
from tracker.event import setup as eventsetup
from tracker.people import organizers, staff
from tracker.store import audit
from tracker.store import db as dbm

from .conftest import PINS, LiveServer
from .helpers import LISBON, wait_until

PASSWORD = "correct horse battery"


def staff_form(event, slug="booth", pin=None, name="Sam") -> dict:
    station = event["stations"][slug]
    return {
        "station": str(station["id"]),
        "name": name,
        "pin": pin or PINS[slug],
        "location": station["location_slug"],
    }


@pytest.fixture
def limited(make_app):
    """The app with its rate limits on, forms without CSRF tokens for brevity."""
    return make_app(RATELIMIT_ENABLED=True, WTF_CSRF_ENABLED=False, ADMIN_PASSWORD=PASSWORD)


def device(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


# ------------------------------------------------------------------ staff PIN lockout


def test_wrong_pins_lock_the_address_that_typed_them_not_the_station(db, event):
    booth = event["stations"]["booth"]["id"]
    for _ in range(staff.MAX_FAILURES):
        with pytest.raises(staff.WrongPin):
            staff.sign_in(db, booth, "000000", source="198.51.100.66")
    with pytest.raises(staff.LockedOut):
        staff.sign_in(db, booth, PINS["booth"], source="198.51.100.66")
    assert staff.sign_in(db, booth, PINS["booth"], source="192.0.2.10")["slug"] == "booth"
    assert staff.locked_stations(db, event["id"]) == {booth: 1}


@pytest.mark.parametrize("how", ["unlock", "reset"])
def test_an_organizer_unlock_or_a_pin_reset_opens_sign_in_again(db, event, how):
    booth = event["stations"]["booth"]["id"]
    for _ in range(staff.MAX_FAILURES):
        with pytest.raises(staff.WrongPin):
            staff.sign_in(db, booth, "000000", source="198.51.100.66")
    if how == "unlock":
        staff.unlock(db, booth, "Ann")
        pin = PINS["booth"]
        assert audit.entries(db, event["id"])[0]["action"] == "station.unlock"
    else:
        pin = eventsetup.reset_pin(db, booth, actor="Ann")
    assert staff.locked_stations(db, event["id"]) == {}
    assert staff.sign_in(db, booth, pin, source="198.51.100.66")["slug"] == "booth"


def test_many_wrong_pins_at_a_station_make_new_devices_wait_never_known_ones(db, event):
    booth = event["stations"]["booth"]["id"]
    for i in range(staff.SLOW_AFTER):  # one guess each from many devices: none waits itself
        with pytest.raises(staff.WrongPin):
            staff.sign_in(db, booth, "000000", source=f"guesser-{i}")
    with pytest.raises(staff.LockedOut) as held:  # a device that never signed in here waits
        staff.sign_in(db, booth, PINS["booth"], source="new tablet")
    assert held.value.station_wide
    # A tablet that signed in here before is not held back by the others' guesses.
    assert staff.sign_in(db, booth, PINS["booth"], source="tablet", known=True)["slug"] == "booth"


def test_a_stranger_guessing_every_station_cannot_lock_staff_out(limited, event):
    stranger = device(limited, "198.51.100.66")
    for slug in event["stations"]:
        for _ in range(staff.MAX_FAILURES):
            stranger.post("/staff", data=staff_form(event, slug, pin="000000"))
        r = stranger.post("/staff", data=staff_form(event, slug))
        assert r.status_code == 429 and "from this device" in r.get_data(as_text=True)
    tablet = device(limited, "192.0.2.10")
    for slug in event["stations"]:
        assert tablet.post("/staff", data=staff_form(event, slug)).status_code == 302
        tablet.post("/staff/signout")


def test_the_setup_page_shows_a_locked_station_and_unlocks_it(limited, db, event):
    stranger = device(limited, "198.51.100.66")
    for _ in range(staff.MAX_FAILURES):
        stranger.post("/staff", data=staff_form(event, pin="000000"))
    organizer = device(limited, "192.0.2.20")
    organizer.post("/admin/login", data={"name": "admin", "password": PASSWORD})
    page = organizer.get("/admin/setup").get_data(as_text=True)
    assert "Sign-in locked for 1 device" in page
    booth = event["stations"]["booth"]["id"]
    organizer.post(f"/admin/setup/stations/{booth}", data={"action": "unlock"})
    assert "Sign-in locked" not in organizer.get("/admin/setup").get_data(as_text=True)
    assert stranger.post("/staff", data=staff_form(event)).status_code == 302


# ------------------------------------------------------------------ sessions that end


def test_staff_sign_out_ends_a_copied_session_cookie(limited, event):
    tablet = device(limited, "192.0.2.10")
    assert tablet.post("/staff", data=staff_form(event)).status_code == 302
    copy = device(limited, "192.0.2.11")
    copy.set_cookie("session", tablet.get_cookie("session").value)
    story = {"id": str(uuid.uuid4()), "story": "before sign-out"}
    assert copy.post("/api/conversations", json=story).status_code == 201
    tablet.post("/staff/signout")
    story = {"id": str(uuid.uuid4()), "story": "after sign-out"}
    assert copy.post("/api/conversations", json=story).status_code == 401
    assert copy.get("/staff/capture").status_code == 302


def test_organizer_sign_out_and_new_password_end_sessions_even_after_a_restart(
    limited, db, db_path, event
):
    organizers.create(db, "Ann", PASSWORD + "!")
    laptop = device(limited, "192.0.2.20")
    assert (
        laptop.post("/admin/login", data={"name": "Ann", "password": PASSWORD + "!"}).status_code
        == 302
    )
    stolen = laptop.get_cookie("session").value
    laptop.post("/admin/logout")
    restarted = create_app({"DATABASE": str(db_path), "SECRET_KEY": "test-secret"})
    thief = restarted.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/admin/export/conversations.csv").status_code == 302
    # A password change does the same to a session that never signed out.
    laptop.post("/admin/login", data={"name": "Ann", "password": PASSWORD + "!"})
    stolen = laptop.get_cookie("session").value
    organizers.set_password(db, "Ann", "a brand new password")
    thief.set_cookie("session", stolen)
    assert thief.get("/admin/").status_code == 302


# ------------------------------------------------------------------ organizer sign-in limits


def test_organizer_sign_in_is_limited_per_address_whatever_cookie_it_sends(limited):
    answers = []
    for _ in range(11):
        guesser = device(limited, "198.51.100.66")  # a fresh cookie jar for every guess
        r = guesser.post("/admin/login", data={"name": "admin", "password": "guess"})
        answers.append(r.status_code)
    assert answers == [401] * 10 + [429]
    assert int(r.headers["Retry-After"]) >= 1
    colleague = device(limited, "192.0.2.20")
    r = colleague.post("/admin/login", data={"name": "admin", "password": PASSWORD})
    assert r.status_code == 302


def test_organizer_sign_in_is_limited_overall(limited):
    limited.config["ADMIN_SIGNIN_TOTAL"] = "12 per minute"
    answers = [
        device(limited, f"203.0.113.{i}")
        .post("/admin/login", data={"name": "admin", "password": "guess"})
        .status_code
        for i in range(13)
    ]
    assert answers == [401] * 12 + [429]


def test_every_429_says_when_to_come_back(limited, event):
    limited.config["CHECKIN_LIMIT"] = "1 per minute"
    phone = device(limited, "192.0.2.30")
    code = event["stations"]["booth"]["code"]
    assert phone.post("/api/checkins", json={"station": code}).status_code == 201  # new identity
    assert phone.post("/api/checkins", json={"station": code}).status_code == 201  # its 1 a minute
    r = phone.post("/api/checkins", json={"station": code})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert r.get_json()["error"] == "too_many_requests"
    r = phone.post(f"/s/{code}", data={"id": str(uuid.uuid4())})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1


# ------------------------------------------------------------------ nothing slow under a lock


def test_loading_an_event_file_hashes_every_pin_before_taking_the_write_lock(db, monkeypatch):
    """Fifty scrypt hashes inside one transaction held every check-in back for seconds."""
    from tracker import security

    from .conftest import DEMO_EVENT

    spec = eventfile.read_event_file(DEMO_EVENT)
    for loc in spec.locations:
        for st in loc.stations:
            st.pin = "123456"
    inside = []
    real = security.off_loop

    def watch(work, *args):
        inside.append(db.conn.in_transaction)
        return real(work, *args)

    monkeypatch.setattr(security, "off_loop", watch)
    eventsetup.load_event(db, spec)
    assert inside and not any(inside)
    inside.clear()
    for loc in spec.locations:  # again, with a new PIN for every station
        for st in loc.stations:
            st.pin = "654321"
    eventsetup.load_event(db, spec)
    assert len(inside) > 40 and not any(inside)


# ------------------------------------------------------------------ health that tells the truth


@pytest.fixture
def immutable(db_path):
    """Makes the database files unwritable even for root (chattr +i), and undoes it."""
    import shutil
    import subprocess

    if shutil.which("chattr") is None:
        pytest.skip("chattr is not available")
    made = []

    def freeze() -> None:
        for name in (db_path.name, db_path.name + "-wal"):
            path = db_path.with_name(name)
            if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode:
                pytest.skip("this file system cannot make files immutable")
            made.append(path)

    yield freeze
    for path in made:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.mark.live
def test_a_database_that_cannot_be_written_answers_503_and_recovers(db_path, event, immutable):
    import subprocess

    import requests

    from .conftest import LiveServer

    server = LiveServer(db_path, {"RATELIMIT_ENABLED": "0"}).start()
    code = event["stations"]["booth"]["code"]
    try:
        assert (
            requests.post(f"{server.url}/api/checkins", json={"station": code}).status_code == 201
        )
        immutable()
        health = requests.get(f"{server.url}/healthz", timeout=5)
        assert health.status_code == 503 and int(health.headers["Retry-After"]) > 0
        assert health.json()["status"] == "error"
        r = requests.post(f"{server.url}/api/checkins", json={"station": code}, timeout=5)
        assert r.status_code == 503 and int(r.headers["Retry-After"]) > 0
        assert r.json()["error"] == "database_unavailable"
        page = requests.post(f"{server.url}/s/{code}", data={"id": str(uuid.uuid4())}, timeout=5)
        assert page.status_code in (400, 503)  # no CSRF token here; never a 500
        for name in (db_path.name, db_path.name + "-wal"):
            subprocess.run(["chattr", "-i", str(db_path.with_name(name))], check=True)
        assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200
        r = requests.post(f"{server.url}/api/checkins", json={"station": code}, timeout=5)
        assert r.status_code == 201
    finally:
        server.stop(kill=True)
    with dbm.connect(db_path).conn as conn:
        assert conn.execute("SELECT count(*) FROM checkins").fetchone() == (2,)


def test_healthz_commits_a_row_each_time(client, db):
    first = client.get("/healthz")
    assert first.status_code == 200 and first.get_json()["database"] == "ok"
    stamp = db.execute("SELECT value FROM settings WHERE key = 'health_checked_at'").fetchone()
    assert stamp is not None


# ------------------------------------------------------------------ the served event stays


def test_loading_another_events_file_creates_it_beside_and_the_server_keeps_its_event(
    app, client, db, event
):
    from .conftest import DEMO_EVENT

    before = client.get("/api/scoreboard").get_json()["event"]["slug"]
    code = event["stations"]["booth"]["code"]
    result = app.test_cli_runner().invoke(args=["event", "load", str(DEMO_EVENT), "--yes"])
    assert result.exit_code == 0, result.output
    assert f"keep serving '{before}'" in result.output and "event use cx-day" in result.output
    assert client.get("/api/scoreboard").get_json()["event"]["slug"] == before
    assert client.get(f"/s/{code}").status_code == 200  # printed QR codes still work
    result = app.test_cli_runner().invoke(args=["event", "use", "cx-day"])
    assert result.exit_code == 0 and "Now serving" in result.output
    assert client.get("/api/scoreboard").get_json()["event"]["slug"] == "cx-day"
    assert audit.entries(db, events.get_event(db)["id"])[0]["action"] == "event.serve"
    result = app.test_cli_runner().invoke(args=["event", "use", "nope"])
    assert result.exit_code != 0 and "known:" in result.output


def test_a_slug_close_to_an_existing_one_asks_before_creating_an_event(app, db, event, tmp_path):
    from .conftest import SMALL_EVENT

    typo = event["slug"][:-1] + ("x" if event["slug"][-1] != "x" else "y")
    (tmp_path / "typo.toml").write_text(
        SMALL_EVENT.read_text().replace(f'slug = "{event["slug"]}"', f'slug = "{typo}"', 1)
    )
    runner = app.test_cli_runner()
    result = runner.invoke(args=["event", "load", str(tmp_path / "typo.toml")], input="n\n")
    assert result.exit_code != 0 and "typo" in result.output
    assert events.slugs(db) == [event["slug"]]
    result = runner.invoke(args=["event", "load", str(tmp_path / "typo.toml")], input="y\n")
    assert result.exit_code == 0
    assert events.slugs(db) == [event["slug"], typo]
    assert events.get_event(db)["slug"] == event["slug"]


# ------------------------------------------------------------------ connections


@contextmanager
def holding_connections(db_path, env: dict):
    """A live server and a list for the connections a test holds open to it: every one is
    closed, and the server stopped, however the test ends."""
    server = LiveServer(db_path, env).start()
    held: list[socket.socket] = []
    try:
        yield server, held
    finally:
        for s in held:
            s.close()
        server.stop(kill=True)


def unanswered(s: socket.socket) -> bool:
    """Whether the server has neither answered nor closed this connection yet (a look that
    takes nothing from it and does not wait)."""
    timeout = s.gettimeout()
    s.setblocking(False)
    try:
        s.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        s.settimeout(timeout)
    return False


def closed_by_server(s: socket.socket) -> bool:
    """Whether the server has closed this connection without a word (a look that does not
    wait: a connection still held has nothing to read)."""
    timeout = s.gettimeout()
    s.setblocking(False)
    try:
        return s.recv(10, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False  # still held
    except OSError:
        return True  # reset
    finally:
        s.settimeout(timeout)


def served_from(server, address: str) -> bool:
    """Whether a request from loopback `address` is answered 200 now."""
    again = socket.create_connection(("127.0.0.1", server.port), source_address=(address, 0))
    try:
        again.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return again.recv(200).startswith(b"HTTP/1.1 200")
    except OSError:
        return False
    finally:
        again.close()


def held_connection(server, address: str, sent: bytes, timeout: float = 5) -> socket.socket:
    """A connection to the server from another loopback `address`, having sent `sent` and no
    more."""
    s = socket.socket()
    s.bind((address, 0))
    s.settimeout(timeout)
    s.connect(("127.0.0.1", server.port))
    s.sendall(sent)
    return s


@pytest.mark.live
def test_one_address_holding_connections_with_no_body_cannot_take_the_server(db_path, event):
    """Complete headers, a Content-Length and no body, from one address, many times over: the
    server answers everyone else at once, closes that address's connections past its share, and
    drops the stalled requests after the body deadline (408)."""
    import requests

    env = {"RATELIMIT_ENABLED": "0", "WORKER_CONNECTIONS": "200", "BODY_SECONDS": "2"}
    code = event["stations"]["booth"]["code"]
    with holding_connections(db_path, env) as (server, stalled):
        for _ in range(150):
            stalled.append(
                held_connection(
                    server,
                    "127.0.0.2",  # another client address on loopback
                    b"POST /api/checkins HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n",
                    timeout=10,
                )
            )
        assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200
        r = requests.post(f"{server.url}/api/checkins", json={"station": code}, timeout=5)
        assert r.status_code == 201
        # Not after the stalled ones' deadline: some of them are still waiting for their answer.
        assert any(unanswered(s) for s in stalled)
        answers = []
        for s in stalled:
            try:
                status = s.recv(200).split(b" ", 2)
                answers.append(status[1] if len(status) > 1 else b"closed")
            except OSError:
                answers.append(b"closed")
        # Past its share (a quarter of 200 connections), its connections are closed at once;
        # the ones it holds are dropped at the body deadline.
        assert answers.count(b"closed") >= 100, answers
        assert answers.count(b"408") == 150 - answers.count(b"closed")
        # Once its stalled connections are gone (answered, then dropped at gunicorn's keep-alive
        # limit), the address is served again.
        for s in stalled:
            s.close()
        wait_until(lambda: served_from(server, "127.0.0.2"), 15, "127.0.0.2 served again")


# ------------------------------------------------------------------ changes while in use


def test_a_closed_station_keeps_syncing_its_tablet_and_says_why(limited, db, event):
    tablet = device(limited, "192.0.2.10")
    assert tablet.post("/staff", data=staff_form(event)).status_code == 302
    booth = event["stations"]["booth"]
    before = dbm.utcnow()  # captured on the tablet, not yet synced, when the station closes
    eventsetup.set_active(db, "stations", booth["id"], False, "Ann")
    page = tablet.get("/staff/capture")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "An organizer closed Main booth" in text and "still syncs" in text
    waiting = {"id": str(uuid.uuid4()), "story": "captured before it closed", "captured_at": before}
    assert tablet.post("/api/conversations", json=waiting).status_code == 201
    after = {"id": str(uuid.uuid4()), "story": "logged after it closed"}
    r = tablet.put(f"/api/conversations/{after['id']}", json=after)
    assert r.status_code == 403 and r.json["error"] == "station_closed"
    assert (
        tablet.put(f"/api/conversations/{waiting['id']}", json={**waiting, "nps": 9}).status_code
        == 200
    )
    assert tablet.get("/staff/mine").status_code == 200
    # Nobody can sign in to it any more.
    other = device(limited, "192.0.2.11")
    r = other.post("/staff", data=staff_form(event))
    assert r.status_code == 400 and "not open" in r.get_data(as_text=True)


def test_a_closed_locations_board_says_so_and_shows_the_event(client, db, event):
    austin = events.location_by_slug(db, event["id"], "austin")
    eventsetup.set_active(db, "locations", austin["id"], False, "Ann")
    page = client.get("/board/austin")
    assert page.status_code == 200
    assert "Austin is closed</p>" in page.get_data(as_text=True)
    snap = client.get("/api/scoreboard?location=austin").get_json()
    assert (
        snap["location"]["active"] is False
        and snap["total"] == client.get("/api/scoreboard").get_json()["total"]
    )
    assert client.get("/board/nowhere").status_code == 404


def test_staff_sign_in_counts_new_devices_per_address_and_its_429s_say_when(limited, event):
    limited.config["STAFF_SIGNIN_LIMIT"] = "8 per minute"
    tablet = device(limited, "198.51.100.66")
    assert tablet.post("/staff", data=staff_form(event)).status_code == 302  # new device: 1
    tablet.post("/staff/signout")
    stranger = device(limited, "198.51.100.66")
    for _ in range(staff.MAX_FAILURES):  # 2-6
        stranger.post("/staff", data=staff_form(event, pin="000000"))
    r = stranger.post("/staff", data=staff_form(event))
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 60  # its own wait
    answers = [  # fresh devices (a guesser clearing its cookies): 7, 8, then the backstop
        device(limited, "198.51.100.66")
        .post("/staff", data=staff_form(event, "demo", pin="000000"))
        .status_code
        for _ in range(3)
    ]
    assert answers == [401, 401, 429]
    assert (
        int(
            device(limited, "198.51.100.66")
            .post("/staff", data=staff_form(event, "demo"))
            .headers["Retry-After"]
        )
        >= 1
    )
    # A device that signed in before is never counted or refused for its address.
    assert tablet.post("/staff", data=staff_form(event, "demo")).status_code == 302
    assert device(limited, "192.0.2.10").post("/staff", data=staff_form(event)).status_code == 302


def test_a_staff_name_with_control_characters_is_refused(limited, event):
    r = device(limited, "192.0.2.10").post("/staff", data=staff_form(event, name="Sam\x00"))
    assert r.status_code == 400


def test_strangers_exhausting_the_overall_sign_in_limit_do_not_lock_out_a_known_device(limited, db):
    organizers.create(db, "Ann", PASSWORD + "!")
    laptop = device(limited, "192.0.2.20")
    form = {"name": "Ann", "password": PASSWORD + "!"}
    assert laptop.post("/admin/login", data=form).status_code == 302
    laptop.post("/admin/logout")
    limited.config["ADMIN_SIGNIN_TOTAL"] = "5 per minute"
    for i in range(6):  # strangers from many addresses, unknown names: no hashing, fast
        device(limited, f"203.0.113.{i}").post(
            "/admin/login", data={"name": "nobody", "password": "x"}
        )
    assert device(limited, "192.0.2.21").post("/admin/login", data=form).status_code == 429
    assert laptop.post("/admin/login", data=form).status_code == 302  # her own laptop


@pytest.mark.live
def test_one_address_holding_idle_connections_gets_its_share_and_no_more(db_path, event):
    """Sockets that never send a request (or stop half-way): one address holds at most its
    share of the worker's connections, and everyone else is served at once."""
    import requests

    env = {"RATELIMIT_ENABLED": "0", "WORKER_CONNECTIONS": "200"}
    with holding_connections(db_path, env) as (server, idle):
        for _ in range(260):  # more than the worker accepts in all
            # A request line and half a header, and never the rest.
            idle.append(held_connection(server, "127.0.0.3", b"GET /healthz HTTP/1.1\r\nHost: "))
        for _ in range(5):  # answered: the worker still has connections for others
            assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200
        # A quarter of 200 held at most: the server closes the rest.
        wait_until(
            lambda: sum(map(closed_by_server, idle)) >= 260 - 50,
            10,
            "all but 50 of the address's idle connections closed",
        )


def test_locations_and_stations_added_in_the_console_are_audited(limited, db, event):
    organizer = device(limited, "192.0.2.20")
    organizer.post("/admin/login", data={"name": "admin", "password": PASSWORD})
    organizer.post("/admin/setup/locations", data=LISBON)
    lisbon = events.location_by_slug(db, event["id"], "lisbon")
    organizer.post(
        "/admin/setup/stations",
        data={"location_id": str(lisbon["id"]), "slug": "booth", "name": "Booth", "kind": "booth"},
    )
    actions = [(e["actor"], e["action"]) for e in audit.entries(db, event["id"])][:2]
    assert actions == [("admin", "station.add"), ("admin", "location.add")]
