"""A WSGI guard in front of the app: no single client can hold the server's connections.

Two rules, for the one gevent worker that serves everyone (README, "Connections"):
- a request body must arrive within BODY_SECONDS, or the request is answered 408 and its
  connection closed (a client that sends headers and a Content-Length and then nothing would
  otherwise hold a connection for as long as it liked);
- one address may have at most `per_address` requests in progress at once (boards' websockets
  included); past that it gets 503 at once, so the others keep their share of the worker's
  connections.
"""

from __future__ import annotations

import io
import json
import sys
import threading
from collections.abc import Callable, Iterable

from ..contract.errors import ErrorCode

BODY_SECONDS = 10.0


def _gevent():
    monkey = sys.modules.get("gevent.monkey")
    return (
        sys.modules["gevent"] if monkey is not None and monkey.is_module_patched("socket") else None
    )


class ConnectionGuard:
    """Wraps a WSGI app: the body deadline (under gevent, where a request is a greenlet on a real
    socket) and the per-address cap on requests in progress."""

    def __init__(
        self,
        app: Callable,
        per_address: int,
        max_body: int,
        body_seconds: float = BODY_SECONDS,
        socket_spent: Callable[[str], bool] | None = None,
    ):
        self.app, self.per_address, self.max_body = app, per_address, max_body
        self.body_seconds = body_seconds
        # Whether an address has spent its Socket.IO message budget (tracker/web/live.py):
        # its new Socket.IO requests get a 429 here, before a handshake or an upgrade.
        self.socket_spent = socket_spent
        self.in_progress: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        address = environ.get("REMOTE_ADDR") or ""
        if (
            self.socket_spent is not None
            and environ.get("PATH_INFO", "").startswith("/socket.io/")
            and self.socket_spent(address)
        ):
            return _answer(
                environ,
                start_response,
                "429 Too Many Requests",
                ErrorCode.too_many_requests,
                "Too many Socket.IO messages from your address; try again in a moment.",
            )
        with self.lock:
            busy = self.in_progress.get(address, 0)
            if busy >= self.per_address:
                refused = True
            else:
                refused = False
                self.in_progress[address] = busy + 1
        if refused:
            return _answer(
                environ,
                start_response,
                "503 Service Unavailable",
                ErrorCode.unavailable,
                "Too many connections from your address.",
            )
        try:
            gevent = _gevent()
            if gevent is not None and not self._read_body(environ, gevent):
                self._done(address)
                return _answer(
                    environ,
                    start_response,
                    "408 Request Timeout",
                    ErrorCode.request_timeout,
                    "The request body did not arrive in time.",
                )
            body = self.app(environ, start_response)
        except BaseException:
            self._done(address)
            raise
        return _Closing(body, lambda: self._done(address))

    def _read_body(self, environ: dict, gevent) -> bool:
        """Read the body (up to max_body + 1 bytes) within the deadline into memory; False when
        it did not arrive in time. A larger body is left for the app to refuse (413)."""
        length = environ.get("CONTENT_LENGTH") or ""
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if not chunked and (not length.isdigit() or int(length) == 0):
            return True
        if length.isdigit() and int(length) > self.max_body:
            return True
        stream = environ["wsgi.input"]
        want = int(length) if length.isdigit() else self.max_body + 1
        data = b""
        try:
            with gevent.Timeout(self.body_seconds):
                while len(data) < want:
                    chunk = stream.read(want - len(data))
                    if not chunk:
                        break
                    data += chunk
        except gevent.Timeout:
            return False
        environ["wsgi.input"] = io.BytesIO(data)
        if not chunked:
            environ["CONTENT_LENGTH"] = str(len(data))
        return True

    def _done(self, address: str) -> None:
        with self.lock:
            left = self.in_progress.get(address, 1) - 1
            if left:
                self.in_progress[address] = left
            else:
                self.in_progress.pop(address, None)


def _answer(
    environ: dict, start_response: Callable, status: str, code: ErrorCode, text: str
) -> list[bytes]:
    """The refusal, in the JSON API's error shape on its paths and as plain text elsewhere."""
    if environ.get("PATH_INFO", "").startswith("/api/"):
        body, kind = json.dumps({"error": code.value, "detail": text}).encode(), "application/json"
    else:
        body, kind = text.encode(), "text/plain; charset=utf-8"
    start_response(
        status,
        [
            ("Content-Type", kind),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
            ("Retry-After", "10"),
        ],
    )
    return [body]


class _Closing:
    """The app's body, with a callback when the server closes it (the request has ended)."""

    def __init__(self, body: Iterable[bytes], on_close: Callable[[], None]):
        self.body, self.on_close = body, on_close

    def __iter__(self):
        return iter(self.body)

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.on_close()
