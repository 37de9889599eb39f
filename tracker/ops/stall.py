"""Answers for the time the serving loop is stuck: a stalled disk must not make phones hang.

The worker serves everyone from one gevent loop on one OS thread, and SQLite's calls never yield
to it: when the disk stops answering (a frozen or failing file system, a full network volume) the
first request that writes waits inside SQLite and the whole loop waits with it. Measured on a
frozen ext4: `/healthz`, the scoreboard and static files all hung until the thaw, so a load
balancer could not tell the server was sick and phones waited instead of retrying.

`StallResponder` runs beside the loop in an OS thread of its own. A greenlet of the loop marks
each turn; when no turn has come for STALL_SECONDS while the loop's thread has been inside a
write transaction for as long (tracker/store/db.py marks them), the responder accepts the waiting
connections on the worker's own listening sockets and answers each at once: `/healthz` with its
usual JSON and `"status": "error"`, everything else with `503 database_unavailable` and
`Retry-After`, the answer every page and the staff tablet already retry on. As soon as the loop
turns again it stops accepting, and the loop serves as before (the request that was stuck
finishes then, so nothing acknowledged is lost). SQLite releases the GIL while it waits on the
disk, so this thread runs meanwhile.

Only a write counts at first: on a machine short of CPU the loop may miss its turns for a
while without anything being wrong, and a 503 then would be a false alarm. A loop silent for
STUCK_SECONDS is answered for whatever it is doing.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger("tracker.stall")

STALL_SECONDS = 2.0  # the loop's silence in a write that counts as a stall ("a second or two")
STUCK_SECONDS = 10.0  # the loop's silence that counts as one, whatever it is doing
TICK_SECONDS = 0.25  # how often the loop marks a turn, and the responder looks
READ_SECONDS = 0.5  # how long the responder waits for a request's head before answering anyway
RETRY_AFTER_SECONDS = 10  # as the web layer's 503s (tracker/web/context.py)


def answer(head: bytes, schema_version: int, stalled_for: float) -> bytes:
    """The whole HTTP/1.1 answer to a request whose head (as far as it came) is `head`:
    `/healthz` gets the shape it always has, every other path the API's error shape."""
    line = head.split(b"\r\n", 1)[0].split(b" ")
    path = line[1].split(b"?", 1)[0] if len(line) > 1 else b""
    detail = f"the server has been waiting on its disk for {stalled_for:.0f} s"
    if path == b"/healthz":
        body: dict[str, Any] = {
            "status": "error",
            "schema_version": schema_version,
            "database": detail,
        }
    else:
        body = {"error": "database_unavailable", "detail": detail + "; try again in a moment"}
    payload = json.dumps(body).encode()
    return (
        b"HTTP/1.1 503 Service Unavailable\r\n"
        b"Content-Type: application/json\r\n"
        b"Cache-Control: no-store\r\n"
        + f"Retry-After: {RETRY_AFTER_SECONDS}\r\nContent-Length: {len(payload)}\r\n".encode()
        + b"Connection: close\r\n\r\n"
        + payload
    )


def _os(module: str, name: str) -> Any:
    """The standard library's own `module.name`, even where gevent has patched it: the
    responder's thread must block for real, never wait on the loop it stands in for."""
    from gevent import monkey

    return monkey.get_original(module, name)


class StallResponder:
    """Watches the loop's turns from an OS thread and answers for it while it is stuck.

    `listeners` are the worker's listening sockets (gunicorn's `worker.sockets`). Start it from
    the worker's main thread, where the gevent loop runs (gunicorn's `post_worker_init`).
    """

    def __init__(
        self,
        listeners: Iterable[Any],
        schema_version: int,
        writing_since: Callable[[int], float | None],
    ):
        os_socket = _os("socket", "socket")
        # Our own handles on the same listening sockets (a dup shares the queue of connections).
        self.listeners = [os_socket(fileno=os.dup(listener.fileno())) for listener in listeners]
        self.schema_version = schema_version
        self.select = _os("select", "select")
        self.sleep = _os("time", "sleep")
        self.last_turn = time.monotonic()
        self.answered = 0
        # The loop's own OS thread (this runs in it) and when its open write began, if any.
        self.loop_thread = _os("_thread", "get_ident")()
        self.writing_since = writing_since

    def start(self) -> None:
        import gevent

        gevent.spawn(self._tick)
        _os("_thread", "start_new_thread")(self._watch, ())

    def _tick(self) -> None:
        """In the loop: a turn every TICK_SECONDS (gevent's sleep, so only a free loop marks)."""
        import gevent

        while True:
            self.last_turn = time.monotonic()
            gevent.sleep(TICK_SECONDS)

    def stalled_for(self) -> float:
        """How long the loop has been stuck: on a write transaction, or on anything at all once
        STUCK_SECONDS have passed (a write outside a transaction, a read of a failing disk);
        0 otherwise, as on a machine short of CPU, which is slow but not stalled."""
        now = time.monotonic()
        silent = now - self.last_turn
        began = self.writing_since(self.loop_thread)
        if began is not None and now - began >= STALL_SECONDS:
            return min(silent, now - began)
        return silent if silent >= STUCK_SECONDS else 0.0

    def _watch(self) -> None:
        """In the OS thread: look every tick; while the loop is stuck, answer what waits."""
        while True:
            self.sleep(TICK_SECONDS)
            stalled = self.stalled_for()
            if stalled < STALL_SECONDS:
                continue
            log.warning("serving loop stuck", extra={"fields": {"seconds": round(stalled, 1)}})
            before = self.answered
            while self.stalled_for() >= STALL_SECONDS:
                self._answer_waiting(self.stalled_for())
            log.warning(
                "serving loop turns again",
                extra={"fields": {"answered_503": self.answered - before}},
            )

    def _answer_waiting(self, stalled: float) -> None:
        """Accept the connections waiting now (for at most one tick) and answer each at once."""
        ready, _, _ = self.select(self.listeners, [], [], TICK_SECONDS)
        for listener in ready:
            if self.stalled_for() < STALL_SECONDS:
                return  # the loop turned while we waited: the connection is its own again
            try:
                client, _ = listener.accept()
            except (BlockingIOError, InterruptedError):  # the loop took it, or another worker
                continue
            except OSError:
                continue
            with client:
                try:
                    client.settimeout(READ_SECONDS)
                    head = b""
                    while b"\r\n\r\n" not in head and len(head) < 8192:
                        chunk = client.recv(4096)
                        if not chunk:
                            break
                        head += chunk
                except OSError:
                    pass  # a slow or silent client gets the answer all the same
                try:
                    client.settimeout(READ_SECONDS)
                    client.sendall(answer(head, self.schema_version, stalled))
                    self.answered += 1
                except OSError:
                    pass
