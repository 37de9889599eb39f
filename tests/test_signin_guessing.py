"""Sign-in that shared addresses survive: a venue's guest wifi puts thousands of phones, the staff
tablets and any prankster behind one address. Wrong PINs and passwords slow the device that sends
them and the station or name they are for, with growing waits; never the address; a device that
signed in there before is never held back by another device's guesses; every refusal says when
to come back.

Time is the rate limits' clock (`ratelimit.clock`, which staff sign-in follows too), moved by the
tests; every device is a test client with a cookie jar of its own (or none kept, for a guesser
who clears its cookies), and every one of them here shares one address unless it says otherwise.
"""

from __future__ import annotations

import time

import pytest

from tracker.people import organizers, staff
from tracker.web import identity, ratelimit

from .conftest import PINS

VENUE = "198.51.100.66"  # the venue's guest wifi: one public address for everyone
PASSWORD = "correct horse battery"


class Clock:
    """The rate limits' clock, moved by hand."""

    def __init__(self, monkeypatch):
        self.now = time.time()
        monkeypatch.setattr(ratelimit, "clock", lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


@pytest.fixture
def limited(make_app):
    """The app with its rate limits on as shipped, forms without CSRF tokens for brevity."""
    return make_app(RATELIMIT_ENABLED=True, WTF_CSRF_ENABLED=False, ADMIN_PASSWORD=PASSWORD)


def device(app, address: str = VENUE, keeps_cookies: bool = True):
    client = app.test_client(use_cookies=keeps_cookies)
    client.environ_base["REMOTE_ADDR"] = address
    return client


def post(client, path: str, data: dict):
    """A form posted and its answer read to the end and closed, as a browser does (the
    connection guard counts an answer still open as a connection of the address)."""
    response = client.post(path, data=data)
    response.get_data()
    response.close()
    return response


def staff_form(event, slug="booth", pin=None, name="Sam") -> dict:
    return {"station": str(event["stations"][slug]["id"]), "name": name, "pin": pin or PINS[slug]}


def retry_after(response) -> int:
    """A refusal's Retry-After, which every refusal must carry."""
    assert response.status_code == 429, response.status_code
    seconds = int(response.headers["Retry-After"])
    assert seconds >= 1
    return seconds


def staff_try(client, event, slug="booth") -> bool:
    """One real staff sign-in (and sign-out): whether it got in."""
    r = post(client, "/staff", staff_form(event, slug))
    if r.status_code != 302:
        retry_after(r)  # a refusal says when to come back
        return False
    post(client, "/staff/signout", {})
    return True


def sustained(clock, minutes: int, every: dict):
    """Run each action at its own pace for `minutes`, in time order: {seconds apart: action}."""
    moments = sorted(
        (round(k * gap, 3), gap, action)
        for gap, action in every.items()
        for k in range(int(minutes * 60 / gap))
    )
    start = clock.now
    for at, _gap, action in moments:
        clock.now = start + at
        action()


# ------------------------------------------------------------------ staff


def test_staff_on_the_guessers_address_sign_in_on_every_try_during_a_sustained_guess(
    limited, event, clock
):
    """The issue's measurement: 20 wrong PINs a minute from one phone on the venue's address,
    49 staff tries on the same address (was: 6 of 49 got in). Now 49 of 49, whether the staff
    use a tablet that signed in before or a device that never did, and the guessing phone is
    the one slowed, with waits that double."""
    guesser = device(limited)
    tablet = device(limited)  # signs in and out again and again: known after its first time
    guesses, refusals, fresh_ok, tablet_ok = [], [], [], []

    def guess():
        r = post(guesser, "/staff", staff_form(event, pin="000000"))
        if r.status_code == 429:
            refusals.append((clock.now, retry_after(r)))
        else:
            assert r.status_code == 401
            guesses.append(clock.now)

    def staff_on_new_devices():
        fresh_ok.append(staff_try(device(limited), event))

    def staff_on_the_tablet():
        tablet_ok.append(staff_try(tablet, event))

    # 20 wrong PINs a minute for 10 minutes; each staff route 49 tries in the same 10 minutes.
    sustained(clock, 10, {3: guess, 12.2: staff_on_new_devices, 12.21: staff_on_the_tablet})

    assert len(fresh_ok) == len(tablet_ok) == 49
    assert fresh_ok.count(True) == 49 and tablet_ok.count(True) == 49
    # The guessing phone: 5 wrong PINs free, then it waited 1, 2 and 4 minutes between the next
    # ones (the 3-second pace rounds each up a little): 8 PINs checked in 10 minutes, not 200.
    gaps = [round(b - a) for a, b in zip(guesses[4:], guesses[5:], strict=False)]
    assert len(guesses) == 8 and [60, 120, 240] <= gaps <= [63, 123, 243], gaps
    assert len(refusals) == 200 - 8
    # Every refusal said when to come back: the end of the wait, when the next guess was checked
    # (the first one past it, at this pace), or after the ten minutes.
    for at, seconds in refusals:
        later = [g for g in guesses if g > at]
        if later:
            assert at + seconds - 1 <= later[0] <= at + seconds + 3
        else:
            assert at + seconds > clock.now


def test_a_guesser_clearing_its_cookies_never_holds_back_a_tablet_that_signed_in_before(
    limited, event, clock
):
    """A guesser who clears its cookies is a new device every time: no device wait catches it,
    so the station does: past 20 wrong PINs, devices that never signed in there wait, one try
    per wait for all of them together. The tablet that signed in there before never waits."""
    tablet = device(limited)
    assert staff_try(tablet, event)
    checked, held_new, tablet_ok = 0, 0, []

    def guess():
        nonlocal checked, held_new
        r = post(device(limited, keeps_cookies=False), "/staff", staff_form(event, pin="000000"))
        if r.status_code == 401:
            checked += 1
        else:
            retry_after(r)
            held_new += 1

    sustained(clock, 10, {3: guess, 12.2: lambda: tablet_ok.append(staff_try(tablet, event))})

    assert tablet_ok.count(True) == 49
    # 20 free wrong PINs, then waits of 1, 2 and 4 minutes: 23 checked of 200 in 10 minutes.
    assert checked == 23 and held_new == 200 - 23
    # A device that never signed in there waits too, and is told until when and why.
    r = post(device(limited), "/staff", staff_form(event))
    assert retry_after(r) > 60 and "have not signed in there before" in r.get_data(as_text=True)
    # An organizer unlocks the station: new devices get in at once.
    organizer = device(limited, "192.0.2.20")
    post(organizer, "/admin/login", {"name": "admin", "password": PASSWORD})
    assert "Sign-in locked for" in organizer.get("/admin/setup").get_data(as_text=True)
    booth = event["stations"]["booth"]["id"]
    organizer.post(f"/admin/setup/stations/{booth}", data={"action": "unlock"})
    assert staff_try(device(limited), event)


def test_guessing_one_stations_pin_from_fresh_devices_everywhere_stays_bounded(
    limited, event, clock
):
    """The arithmetic of the README: a guesser with any number of devices on any number of
    addresses, trying again the moment each refusal says, gets 26 PINs checked at one station
    in the first hour and 118 in a day (a 6-digit PIN: 1 chance in about 8,500 a day)."""
    start, checked, n = clock.now, [], 0
    while clock.now < start + 86400:
        n += 1
        address = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
        r = post(
            device(limited, address, keeps_cookies=False), "/staff", staff_form(event, pin="000000")
        )
        if r.status_code == 401:
            checked.append(clock.now - start)
        else:
            clock.advance(retry_after(r))
    first_hour = sum(1 for at in checked if at < 3600)
    assert first_hour == 26 and len(checked) == 118
    assert staff.STATION.wait(len(checked)) == staff.STATION.cap  # one try per 15 minutes now
    # Other stations were never slowed: their staff on new devices get in.
    assert staff_try(device(limited), event, "demo")


def test_the_address_backstop_counts_only_new_devices(limited, event, clock):
    """A flood of new devices from one address meets STAFF_SIGNIN_LIMIT (60 a minute) before any
    PIN is hashed; a device that signed in before (anywhere) is never counted or refused."""
    tablet = device(limited)
    assert staff_try(tablet, event, "booth")  # a new device then: 1; known at booth from now
    answers = [
        post(
            device(limited, keeps_cookies=False), "/staff", staff_form(event, slug, "000000")
        ).status_code
        for slug, tries in (("stories", 20), ("booth", 20), ("demo", 19))
        for _ in range(tries)
    ]
    assert answers == [401] * 59  # 60 new devices this minute: none refused
    r = post(device(limited), "/staff", staff_form(event, "demo"))  # the 61st
    assert retry_after(r) <= 61 and "Please wait a minute" in r.get_data(as_text=True)
    assert staff_try(tablet, event, "demo")  # known at booth only: not counted, not refused
    assert staff_try(device(limited, "192.0.2.10"), event, "demo")  # another address


def test_a_tablet_keeps_a_device_cookie_of_its_own(limited, event):
    tablet = device(limited)
    tablet.get("/staff")
    cookie = tablet.get_cookie(identity.DEVICE_COOKIE)
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert staff_try(tablet, event)
    with limited.test_request_context(headers={"Cookie": f"{cookie.key}={cookie.value}"}):
        before = identity.device()
    with limited.test_request_context(
        headers={"Cookie": f"{cookie.key}={tablet.get_cookie(cookie.key).value}"}
    ):
        after = identity.device()
    assert after.id == before.id and after.knows_station(event["stations"]["booth"]["id"])
    assert not before.stations
    # A cookie that is not ours is a new device, known nowhere.
    with limited.test_request_context(headers={"Cookie": f"{cookie.key}=x{cookie.value}"}):
        forged = identity.device()
    assert forged.fresh and forged.id != before.id and not forged.signed_in_before


# ------------------------------------------------------------------ organizers


def organizer_try(client, name: str, password: str) -> int:
    return post(client, "/admin/login", {"name": name, "password": password}).status_code


def test_an_organizers_known_device_signs_in_behind_the_guessers_address(limited, db, event, clock):
    organizers.create(db, "Ann", PASSWORD + "!")
    laptop = device(limited)
    assert organizer_try(laptop, "Ann", PASSWORD + "!") == 302
    post(laptop, "/admin/logout", {})
    # On the same address: one phone guessing Ann's password 20 times a minute, and a guesser
    # who clears its cookies doing the same, for 10 minutes.
    phone, answers, ok = device(limited), [], []

    def guess():
        answers.append(organizer_try(phone, "Ann", "guess"))
        r = post(
            device(limited, keeps_cookies=False),
            "/admin/login",
            {"name": "Ann", "password": "guess"},
        )
        if r.status_code != 401:
            retry_after(r)

    def ann():
        ok.append(organizer_try(laptop, "Ann", PASSWORD + "!") == 302)
        post(laptop, "/admin/logout", {})

    sustained(clock, 10, {3: guess, 12.2: ann})
    assert ok.count(True) == 49
    # The guessing phone was slowed: 5 free, then 1, 2 and 4 minutes at the most (the address's
    # new devices and the name's wrong passwords held it back too).
    assert answers.count(401) <= 8 and answers.count(429) >= 192
    # Ann on a new device waits (the name's wrong passwords, or the address's new devices), and
    # is told until when; on her laptop she never does.
    r = post(device(limited), "/admin/login", {"name": "Ann", "password": PASSWORD + "!"})
    assert retry_after(r) >= 1
    assert organizer_try(laptop, "Ann", PASSWORD + "!") == 302


def test_an_organizer_device_guessing_waits_longer_after_each_wrong_password(limited, db, clock):
    organizers.create(db, "Ann", PASSWORD + "!")
    phone = device(limited)
    assert [organizer_try(phone, "Ann", "guess") for _ in range(5)] == [401] * 5
    waits = []
    for _ in range(4):
        r = post(phone, "/admin/login", {"name": "Ann", "password": "guess"})
        waits.append(retry_after(r))
        assert "from this device" in r.get_data(as_text=True)
        clock.advance(waits[-1])
        assert organizer_try(phone, "Ann", "guess") == 401
    assert waits == [60, 120, 240, 480]
    r = post(phone, "/admin/login", {"name": "Ann", "password": PASSWORD + "!"})
    clock.advance(retry_after(r))
    assert organizer_try(phone, "Ann", PASSWORD + "!") == 302  # and its wrong ones are forgotten
    post(phone, "/admin/logout", {})
    assert [organizer_try(phone, "Ann", "typo") for _ in range(5)] == [401] * 5
    # Another device, on the same address, never waited for any of it.
    assert organizer_try(device(limited), "Ann", PASSWORD + "!") == 302


def test_guessing_one_organizers_password_from_fresh_devices_stays_bounded(limited, db, clock):
    """Fresh devices on many addresses: ADMIN_SIGNIN_TOTAL (60 a minute from everywhere) and the
    name's waits: 26 wrong passwords checked in the first hour, as for a station's PIN."""
    organizers.create(db, "Ann", PASSWORD + "!")
    start, checked, n = clock.now, 0, 0
    while clock.now < start + 3600:
        n += 1
        r = post(
            device(limited, f"10.0.{n // 256 % 256}.{n % 256}", keeps_cookies=False),
            "/admin/login",
            {"name": "Ann", "password": "guess"},
        )
        if r.status_code == 401:
            checked += 1
        else:
            clock.advance(retry_after(r))
    assert checked == 26


def test_a_device_remembered_before_devices_had_ids_is_still_known(limited, db, clock):
    """Organizers' devices were remembered by a cookie of their own before: it still counts."""
    from itsdangerous import URLSafeSerializer

    organizers.create(db, "Ann", PASSWORD + "!")
    laptop = device(limited)
    legacy = URLSafeSerializer("test-secret", salt="organizer-device").dumps("ann")
    laptop.set_cookie(identity.LEGACY_ORGANIZER_DEVICE_COOKIE, legacy)
    for _ in range(11):  # new devices on the same address use up its ten a minute
        organizer_try(device(limited, keeps_cookies=False), "Nobody", "guess")
    assert retry_after(post(device(limited), "/admin/login", {"name": "Ann", "password": "x"}))
    assert organizer_try(laptop, "Ann", PASSWORD + "!") == 302
