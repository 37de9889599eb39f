"""Sockets have budgets: a client that floods /live (or any namespace, with any event) is
disconnected, and the count costs nothing but a dict update per message."""

from __future__ import annotations

import time

import pytest
import requests
import websocket

from tracker.extensions import socketio
from tracker.web.live import Budgets

from .conftest import LiveServer


def test_a_connection_past_its_budget_is_told_so():
    budgets = Budgets(per_connection=3, per_address=3)
    assert [budgets.charge("a", "10.0.0.1", now=0.0) for _ in range(3)] == [None] * 3
    assert budgets.charge("a", "10.0.0.1", now=1.0) == "connection"
    assert budgets.charge("a", "10.0.0.1", now=11.0) is None  # a new window
    assert budgets.charge("b", "10.0.0.1", now=11.5) is None
    assert budgets.charge("c", "10.0.0.1", now=11.6) is None
    assert budgets.charge("d", "10.0.0.1", now=11.7) == "address"  # 4 from one address in a window
    assert budgets.charge("e", "10.0.0.2", now=11.8) is None  # another address is untouched


def test_a_flooding_screen_is_disconnected_and_others_stay(make_app, event):
    app = make_app(SOCKET_MESSAGES_PER_CONNECTION=20, SOCKET_MESSAGES_PER_ADDRESS=1000)
    flooder = socketio.test_client(app, namespace="/live")
    calm = socketio.test_client(app, namespace="/live")
    assert flooder.is_connected("/live") and calm.is_connected("/live")
    sent = 0
    while flooder.is_connected("/live") and sent < 100:
        event = "join" if sent % 2 else "not-an-event"  # handled or not, each one counts
        flooder.emit(event, {"location": "cork"}, namespace="/live")
        sent += 1
    assert sent == 20  # the connect and 20 messages: the 21st went past its budget of 20
    assert calm.is_connected("/live")
    answer = calm.emit("join", {"location": "cork"}, namespace="/live", callback=True)
    assert answer == {"ok": True, "location": "cork"}
    calm.disconnect(namespace="/live")


@pytest.mark.live
def test_a_flooding_websocket_is_cut_off_at_the_transport_and_others_are_served(db_path, event):
    """Socket.IO's own disconnect leaves the websocket open, and every frame a flood goes on
    sending would still be parsed: past its budget the server closes the connection itself, and
    reads a websocket at a paced rate meanwhile, so another client is served throughout."""
    server = LiveServer(db_path, {"SOCKET_MESSAGES_PER_CONNECTION": "20"}).start()
    closing: list[websocket.WebSocket] = []
    try:
        ws = websocket.create_connection(
            server.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket", timeout=10
        )
        closing.append(ws)
        ws.recv()  # Engine.IO's open packet
        ws.send("40/live,")
        # 1,000 messages fit in the kernel's buffers: the client is never held back, and the
        # server must close the connection itself (it answers the server's pings, so Engine.IO's
        # ping timeout never closes it instead).
        try:
            for _ in range(1000):
                ws.send('42/live,["join",{"location":"cork"}]')
        except (websocket.WebSocketException, OSError):
            ws.close()  # cut off while sending: the server closed it
        assert requests.get(f"{server.url}/api/scoreboard", timeout=30).status_code == 200
        ws.settimeout(1)
        deadline = time.monotonic() + 60
        while ws.connected:
            assert time.monotonic() < deadline, "the server never closed the flooding websocket"
            try:
                message = ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except (websocket.WebSocketConnectionClosedException, OSError):
                break  # closed by the server
            if message in ("", b""):
                break
            if message == "2":
                ws.send("3")
        assert requests.get(f"{server.url}/api/scoreboard", timeout=30).status_code == 200
        assert "message budget" in server.log_tail()
    finally:
        for ws in closing:
            ws.close()
        server.stop(kill=True)


def test_an_address_past_its_budget_is_refused_before_a_handshake(make_app, event):
    """Reconnecting at once after a cut-off costs the worker a handshake each time: an address
    past its budget gets a 429 with Retry-After for its Socket.IO requests until the window ends,
    and other addresses connect as before."""
    app = make_app(SOCKET_MESSAGES_PER_CONNECTION=1000, SOCKET_MESSAGES_PER_ADDRESS=5)
    http = app.test_client()
    http.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    flooder = socketio.test_client(app, namespace="/live", flask_test_client=http)
    while flooder.is_connected("/live"):
        flooder.emit("join", {"location": "cork"}, namespace="/live")
    refused = http.get("/socket.io/?EIO=4&transport=polling")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert other.get("/socket.io/?EIO=4&transport=polling").status_code == 200
