"""A WSGI guard in front of the app: a request body must arrive within BODY_SECONDS, or the
request is answered 408 and dropped (a client that sends headers and a Content-Length and then
nothing would otherwise hold a connection for as long as it liked; README, "Connections").

Under gevent only, where a request is a greenlet on a real socket. How many connections one
address may hold is the worker's rule (gunicorn_conf.ShareGeventWorker), counted where
connections are accepted.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable

BODY_SECONDS = 10.0


def _gevent():
    monkey = sys.modules.get("gevent.monkey")
    return (
        sys.modules["gevent"] if monkey is not None and monkey.is_module_patched("socket") else None
    )


class BodyDeadline:
    """Wraps a WSGI app: reads each request body within the deadline before the app sees it."""

    def __init__(self, app: Callable, max_body: int, body_seconds: float = BODY_SECONDS):
        self.app, self.max_body, self.body_seconds = app, max_body, body_seconds

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        gevent = _gevent()
        if gevent is not None and not self._read_body(environ, gevent):
            body = b"The request body did not arrive in time."
            start_response(
                "408 Request Timeout",
                [
                    ("Content-Type", "text/plain; charset=utf-8"),
                    ("Content-Length", str(len(body))),
                    ("Connection", "close"),
                ],
            )
            return [body]
        return self.app(environ, start_response)

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
