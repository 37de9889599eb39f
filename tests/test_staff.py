"""Staff sign-in: PIN check, the per-station lockout, the session, and the staff pages over HTTP."""

from __future__ import annotations

import re
import uuid as uuidlib
from datetime import UTC, datetime, timedelta

import pytest

from tracker.event import setup as eventsetup
from tracker.people import staff

from .conftest import PINS
from .helpers import csrf_token


def failures(db, station_id: int) -> int:
    return db.execute(
        "SELECT count(*) FROM sign_in_failures WHERE station_id = ?", [station_id]
    ).fetchone()[0]


# ---------------------------------------------------------------- domain


def test_right_pin_signs_in_and_leaves_no_failure(db, event):
    booth = event["stations"]["booth"]
    signed_in = staff.sign_in(db, booth["id"], PINS["booth"])
    assert signed_in["slug"] == "booth" and signed_in["pin_tag"] == staff.pin_tag(db, booth["id"])
    assert failures(db, booth["id"]) == 0


def test_another_stations_pin_is_wrong(db, event):
    with pytest.raises(staff.WrongPin) as exc:
        staff.sign_in(db, event["stations"]["booth"]["id"], PINS["demo"])
    assert exc.value.remaining == 4


def test_five_wrong_pins_are_free_then_the_device_waits_longer_after_each(db, event):
    booth, demo = event["stations"]["booth"], event["stations"]["demo"]
    start = datetime.now(UTC)
    remaining = []
    for i in range(5):
        with pytest.raises(staff.WrongPin) as exc:
            staff.sign_in(db, booth["id"], "0000", "tablet-1", now=start + timedelta(seconds=i))
        remaining.append(exc.value.remaining)
    assert remaining == [4, 3, 2, 1, 0] and exc.value.wait == timedelta(minutes=1)
    latest = start + timedelta(seconds=4)
    with pytest.raises(staff.LockedOut) as locked:  # even with the right PIN, not checked
        staff.sign_in(
            db, booth["id"], PINS["booth"], "tablet-1", now=latest + timedelta(seconds=30)
        )
    assert abs(locked.value.until - (latest + timedelta(minutes=1))) < timedelta(milliseconds=2)
    assert not locked.value.station_wide
    with pytest.raises(staff.LockedOut):  # the device waits at every station
        staff.sign_in(db, demo["id"], PINS["demo"], "tablet-1", now=latest + timedelta(seconds=30))
    assert failures(db, booth["id"]) == 5 and failures(db, demo["id"]) == 0
    # Other devices are not affected.
    staff.sign_in(db, booth["id"], PINS["booth"], "tablet-2", now=latest)
    # Each wrong PIN past the free ones doubles the wait: 1, 2, 4 minutes.
    waits, now = [], latest
    for _ in range(3):
        now = staff.locked_until(db, booth["id"], "tablet-1", now) or now
        with pytest.raises(staff.WrongPin) as exc:
            staff.sign_in(db, booth["id"], "0000", "tablet-1", now=now)
        waits.append(exc.value.wait)
    assert waits == [timedelta(minutes=m) for m in (2, 4, 8)]
    now += timedelta(minutes=8)
    opened = staff.sign_in(db, booth["id"], PINS["booth"], "tablet-1", now=now)
    assert opened["id"] == booth["id"]
    assert failures(db, booth["id"]) == 0  # a right PIN forgets the device's wrong ones here


def test_waits_stop_growing_at_fifteen_minutes_and_wrong_pins_are_forgotten_after_a_day(db, event):
    booth = event["stations"]["booth"]["id"]
    start = datetime.now(UTC) - timedelta(days=2)
    now = start
    for _ in range(12):
        now = staff.locked_until(db, booth, "tablet-1", now) or now
        with pytest.raises(staff.WrongPin) as exc:
            staff.sign_in(db, booth, "0000", "tablet-1", now=now)
    assert exc.value.wait == staff.DEVICE.cap == timedelta(minutes=15)
    later = now + timedelta(days=1, seconds=1)
    assert staff.locked_until(db, booth, "tablet-1", later) is None
    with pytest.raises(staff.WrongPin) as exc:
        staff.sign_in(db, booth, "0000", "tablet-1", now=later)
    assert exc.value.remaining == 4


def test_inactive_station_cannot_sign_in(db, event):
    from tracker.event import lookups as events

    booth = event["stations"]["booth"]
    eventsetup.set_active(db, "stations", booth["id"], False)
    with pytest.raises(events.UnknownStation):
        staff.sign_in(db, booth["id"], PINS["booth"])


# ---------------------------------------------------------------- HTTP


def csrf(client, path="/staff") -> str:
    return csrf_token(client.get(path).get_data(as_text=True))


def sign_in(client, station_id: int, pin: str, name: str = "Ann"):
    return client.post(
        "/staff",
        data={"csrf_token": csrf(client), "station": str(station_id), "pin": pin, "name": name},
    )


def test_sign_in_page_offers_locations_and_stations_but_no_codes(client, event):
    html = client.get("/staff").get_data(as_text=True)
    for st in event["stations"].values():
        assert st["name"] in html
        assert st["code"] not in html
    assert "Cork" in html and "Austin" in html


def test_sign_in_remembers_station_and_name_then_capture_page(client, event):
    booth = event["stations"]["booth"]
    r = sign_in(client, booth["id"], PINS["booth"], "Ann Example")
    assert r.status_code == 302 and r.headers["Location"].endswith("/staff/capture")
    with client.session_transaction() as session:
        assert session["staff_station_id"] == booth["id"]
        assert session["staff_name"] == "Ann Example"
    page = client.get("/staff/capture").get_data(as_text=True)
    assert "Main booth" in page and "Ann Example" in page
    for topic in event["topics"]:
        assert topic in page
    assert client.get("/staff").status_code == 302  # already signed in


def test_sign_in_without_csrf_token_is_refused(client, event):
    r = client.post(
        "/staff",
        data={"station": str(event["stations"]["booth"]["id"]), "pin": "1111", "name": "A"},
    )
    assert r.status_code == 400
    with client.session_transaction() as session:
        assert "staff_station_id" not in session


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"station": "", "pin": "1111", "name": "Ann"}, "Choose your station"),
        ({"station": "booth", "pin": "1111", "name": "Ann"}, "Choose your station"),
        ({"station": "{booth}", "pin": "1111", "name": ""}, "Type your name"),
        ({"station": "{booth}", "pin": "", "name": "Ann"}, "Type the station PIN"),
        ({"station": "999", "pin": "1111", "name": "Ann"}, "not open"),
    ],
)
def test_sign_in_form_errors_are_explained(client, event, form, message):
    form = {**form, "station": form["station"].format(booth=event["stations"]["booth"]["id"])}
    r = client.post("/staff", data={**form, "csrf_token": csrf(client)})
    assert r.status_code == 400 and message in r.get_data(as_text=True)


def test_the_device_that_typed_wrong_pins_waits_over_http_and_others_do_not(client, app, event):
    booth = event["stations"]["booth"]
    for _ in range(5):
        r = sign_in(client, booth["id"], "9999")
        assert r.status_code == 401 and "Wrong PIN" in r.get_data(as_text=True)
    assert 55 <= int(r.headers["Retry-After"]) <= 60  # the fifth: one minute
    r = sign_in(client, booth["id"], PINS["booth"])
    assert r.status_code == 429 and "locked until" in r.get_data(as_text=True)
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    with client.session_transaction() as session:
        assert "staff_station_id" not in session
    # Another browser on the same address (every test client is 127.0.0.1) signs in.
    other = app.test_client()
    assert sign_in(other, booth["id"], PINS["booth"]).status_code == 302


def test_pages_need_the_session_and_sign_out_ends_it(client, event):
    assert client.get("/staff/capture").headers["Location"].endswith("/staff")
    assert client.get("/staff/mine").headers["Location"].endswith("/staff")
    sign_in(client, event["stations"]["booth"]["id"], PINS["booth"])
    assert client.get("/staff/capture").status_code == 200
    r = client.post("/staff/signout", data={"csrf_token": csrf(client, "/staff/capture")})
    assert r.status_code == 302
    assert client.get("/staff/capture").status_code == 302
    payload = {"id": str(uuidlib.uuid4()), "story": "after sign-out"}
    assert client.post("/api/conversations", json=payload).status_code == 401


def test_my_station_lists_today_escaped(client, event):
    sign_in(client, event["stations"]["booth"]["id"], PINS["booth"])
    story = "<img src=x onerror=alert(1)> & more"
    r = client.post("/api/conversations", json={"id": str(uuidlib.uuid4()), "story": story})
    assert r.status_code == 201
    html = client.get("/staff/mine").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; more" in html
    assert "<img src=x" not in html
    assert r.json["reference"] in html


def test_service_worker_is_scoped_to_staff_and_lists_the_shell(client, event):
    r = client.get("/staff/sw.js")
    assert r.status_code == 200 and r.mimetype == "text/javascript"
    assert r.headers["Service-Worker-Allowed"] == "/staff"
    assert r.headers["Cache-Control"] == "no-cache"
    body = r.get_data(as_text=True)
    assert '"/staff/capture"' in body and "/static/staff/staff.js?v=" in body
    # Every asset it precaches is served.
    for url in re.findall(r'"(/static/[^"]+)"', body):
        with client.get(url) as asset:
            assert asset.status_code == 200, url
