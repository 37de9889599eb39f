"""Serve tracker with gunicorn: one gevent worker per process, websockets included.

Flask-SocketIO needs one worker per process (`-w 1`). The gevent worker patches the standard
library, so each request and each open board is a greenlet; SQLite calls never yield, so the
greenlets of a process share one connection (tracker.db). Measured on a 2-core machine, the same
code served 674 check-ins/s against 316 with the threaded worker (README, Running it at a real
event). Settings that need code live in gunicorn_conf.py. Scale out with several processes on
one database file.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def gunicorn_argv(host: str, port: int, connections: int) -> list[str]:
    return [
        "gunicorn",
        "--workers",
        "1",
        "--worker-class",
        "gevent",
        "--worker-connections",
        str(connections),
        "--bind",
        f"{host}:{port}",
        "--graceful-timeout",
        "5",
        # Several processes may serve one database; none needs a control socket.
        "--no-control-socket",
        # Websockets are long requests; the worker's heartbeat runs apart from them.
        "--timeout",
        "60",
        "--config",
        str(Path(__file__).with_name("gunicorn_conf.py")),
        *(["--access-logfile", os.environ["ACCESS_LOG"]] if os.environ.get("ACCESS_LOG") else []),
        "--error-logfile",
        "-",
        "tracker:create_app()",
    ]


def free_port() -> int:
    """A port on 127.0.0.1 that nobody listens on right now (tests and benchmarks)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_healthy(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    """Wait for `url`/healthz to answer; RuntimeError (with its stderr) if the process dies first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
            raise RuntimeError(f"server exited: {err}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not answer /healthz in time")


def main() -> None:
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    connections = int(os.environ.get("WORKER_CONNECTIONS", "2000"))
    argv = gunicorn_argv(host, port, connections)
    os.execv(os.path.join(os.path.dirname(sys.executable), "gunicorn"), argv)


if __name__ == "__main__":
    main()
