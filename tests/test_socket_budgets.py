"""Sockets have budgets: a client that floods /live (or any namespace, with any event) is
disconnected, and the count costs nothing but a dict update per message."""

from __future__ import annotations

from tracker.extensions import socketio
from tracker.web.live import Budgets


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
    assert sent == 21  # the 21st message went past its budget of 20: disconnected
    assert calm.is_connected("/live")
    answer = calm.emit("join", {"location": "cork"}, namespace="/live", callback=True)
    assert answer == {"ok": True, "location": "cork"}
    calm.disconnect(namespace="/live")
