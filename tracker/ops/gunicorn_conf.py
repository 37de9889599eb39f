"""Gunicorn settings file (`gunicorn -c`), loaded by path so the master never imports tracker.

Gunicorn's gevent worker serves a kept-alive connection in a loop: when the client's next request
is already waiting, it is read without ever yielding to the hub, so a quick client keeps the
worker while the others wait. Measured with 16 keep-alive clients on a bare WSGI app: p50 0.3 ms
but p99 85 ms; with the yield below, p99 6 ms at the same throughput.

It waits `keepalive` seconds for a kept-alive connection's next request, then closes it. On a
busy worker that close runs late, when the hub gets its turn after the other ready greenlets, and
a request that had arrived by then was closed on unread, which the kernel answers with a reset:
a phone that had reused the connection in time got `ConnectionResetError` for its check-in
(tests/test_checkins_live.py, half its runs on a loaded machine). Now the request is read
(_NextRequest). One still on its way when the close runs is lost as on any HTTP/1.1 server:
browsers send it again on a new connection, and the pages resend with the same id.
"""

import contextlib
import os
import sys
import time
from collections import Counter

import gevent
from gevent import monkey
from gunicorn.workers.ggevent import GeventWorker


def post_request(worker, req, environ, resp):
    """Let every other ready connection have its turn before this one's next request."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("socket"):
        sys.modules["gevent"].sleep(0)


def _share() -> int:
    """CONNECTIONS_PER_ADDRESS, with tracker.config's default (this file never imports tracker)."""
    explicit = os.environ.get("CONNECTIONS_PER_ADDRESS")
    return (
        int(explicit) if explicit else max(20, int(os.environ.get("WORKER_CONNECTIONS", 2000)) // 4)
    )


# A websocket's reads (see _ClientSocket): what a board or a staff page ever sends, many times over.
WEBSOCKET_READ_BURST = 16 * 1024  # bytes at once
WEBSOCKET_READ_BYTES_PER_SECOND = 4 * 1024


class _Idle(BaseException):
    """Thrown into a connection's greenlet when its keep-alive limit has passed."""


def _readable(sock) -> bool:
    """Whether bytes (or the client's close) wait on `sock`, without waiting; poll, not select,
    as a worker's file descriptors go past 1024. A socket closed meanwhile has nothing to read
    (this runs in the hub, where an exception would leave the connection waiting for good)."""
    poll, pollin = monkey.get_original("select", ["poll", "POLLIN"])
    try:
        waiting = poll()
        waiting.register(sock.fileno(), pollin)
        return bool(waiting.poll(0))
    except (OSError, ValueError):
        return False


class _NextRequest:
    """The keep-alive limit on reading a connection's next request, as gunicorn's
    `gevent.Timeout(keepalive, False)` but for a request that has arrived when the limit is
    looked at: that one is read, with one more `seconds` for its head to come in whole (a client
    trickling a request head still cannot hold the connection)."""

    def __init__(self, sock, seconds: float, log):
        self.sock, self.seconds, self.log = sock, seconds, log
        self.extended = False

    def __enter__(self) -> None:
        self.greenlet = gevent.getcurrent()
        self._start()

    def _start(self) -> None:
        # A new timer each time: a libev timer started again after it fired fires at once.
        self.timer = gevent.get_hub().loop.timer(self.seconds)
        self.timer.start(self._passed, update=True)

    def _passed(self) -> None:  # in the hub
        self.timer.close()
        if not self.extended and _readable(self.sock):
            self.extended = True
            self.log.debug("Keep-alive limit passed with the next request waiting: reading it")
            self._start()
        else:
            self.greenlet.throw(_Idle())

    def __exit__(self, kind, value, traceback) -> bool:
        self.timer.close()
        return isinstance(value, _Idle)  # then the loop reads no request and closes


class _ClientSocket:
    """A client's connection as the worker reads it: a websocket's reads are paced, and a
    connection the server shuts reads nothing more.

    gevent switches greenlets only when one waits. A websocket whose client floods it with
    messages never lets its reader wait, and every frame read is parsed in Python: one anonymous
    socket on /live took another client's check-in from p95 0.2 s to over 10 s, even though the
    socket was disconnected past its message budget (the budget is charged after parsing). So a
    websocket reads at most WEBSOCKET_READ_BURST bytes at once and WEBSOCKET_READ_BYTES_PER_SECOND
    after that (a token bucket; a board sends a few small messages a minute): past it the reader
    sleeps, the flood waits in the kernel's buffers and the client's own, and costs the worker
    nothing. HTTP requests (bodies up to a node's batch of records) are never paced.
    """

    __slots__ = ("_sock", "_shut", "_paced", "_tokens", "_filled")

    def __init__(self, sock):
        self._sock = sock
        self._shut = False
        self._paced = False
        self._tokens = float(WEBSOCKET_READ_BURST)
        self._filled = 0.0

    def __getattr__(self, name):
        return getattr(self._sock, name)

    def pace(self) -> None:
        """From now on this connection is a websocket: its reads are paced."""
        self._paced, self._filled = True, time.monotonic()

    def shutdown(self, how):
        """As a socket's, and after it nothing more is read, not even what the kernel holds: a
        flooding client cut off (tracker/web/live.py) costs no more parsing of what it sent."""
        self._shut = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(how)

    def _before_read(self) -> None:
        if self._shut:
            raise ConnectionAbortedError("this connection was shut by the server")
        if not self._paced:
            return
        now = time.monotonic()
        self._tokens = min(
            WEBSOCKET_READ_BURST,
            self._tokens + (now - self._filled) * WEBSOCKET_READ_BYTES_PER_SECOND,
        )
        self._filled = now
        if self._tokens < 0:
            gevent.sleep(-self._tokens / WEBSOCKET_READ_BYTES_PER_SECOND)
            self._before_read()

    def recv(self, *args):
        self._before_read()
        data = self._sock.recv(*args)
        if self._paced:
            self._tokens -= len(data)
        return data

    def recv_into(self, *args):
        self._before_read()
        count = self._sock.recv_into(*args)
        if self._paced:
            self._tokens -= count
        return count


def pre_request(worker, req):
    """A request that upgrades its connection to a websocket makes the connection paced."""
    if any(name == "UPGRADE" and value.lower() == "websocket" for name, value in req.headers):
        connection = worker.clients.get(gevent.getcurrent())
        if connection is not None:
            connection.pace()


class ShareGeventWorker(GeventWorker):
    """gunicorn's gevent worker, holding at most CONNECTIONS_PER_ADDRESS connections from one
    client address at once: past that a new connection is closed as soon as it is accepted, so
    one client's idle, slow or unread connections cannot take the worker from everyone else.
    Off behind a proxy (TRUSTED_PROXIES), where every connection comes from the proxy."""

    per_address = 0 if int(os.environ.get("TRUSTED_PROXIES", 0) or 0) else _share()
    held: Counter = Counter()
    clients: dict = {}  # each connection is served by a greenlet of its own

    def handle(self, listener, client, addr):
        address = addr[0] if isinstance(addr, tuple) else str(addr)
        if self.per_address and self.held[address] >= self.per_address:
            client.close()
            return
        self.held[address] += 1
        connection = self.clients[gevent.getcurrent()] = _ClientSocket(client)
        try:
            super().handle(listener, connection, addr)
        finally:
            del self.clients[gevent.getcurrent()]
            self.held[address] -= 1
            if not self.held[address]:
                del self.held[address]

    def timeout_ctx(self):
        """The keep-alive limit around reading each request of a connection (gunicorn's loop)."""
        sock = self.clients.get(gevent.getcurrent())
        if sock is None:
            return super().timeout_ctx()
        return _NextRequest(sock, self.cfg.keepalive, self.log)


worker_class = ShareGeventWorker
# How long a kept-alive connection may wait for its next request (gunicorn's default, written out
# as tests/test_checkins_live.py relies on it): short, as each idle connection holds one of the
# worker's WORKER_CONNECTIONS and of its address's share.
keepalive = 2


def post_worker_init(worker):
    """In the worker, its app loaded: answer for the loop whenever it is stuck on the disk
    (tracker/ops/stall.py). Imported here, never in the master, which imports no tracker code."""
    from tracker.ops.stall import StallResponder
    from tracker.store.db import SCHEMA_VERSION, writing_since

    StallResponder(worker.sockets, SCHEMA_VERSION, writing_since).start()
