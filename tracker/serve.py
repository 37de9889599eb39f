"""Serve tracker with gunicorn: one worker, many threads, websockets included.

Flask-SocketIO needs one worker per process (`-w 1`); in threading mode every open websocket
holds a thread for its whole life, so threads are sized well above screens + concurrent requests.
Scale out with several processes on one database file (see README, Scale-out).
"""

from __future__ import annotations

import os
import sys


def gunicorn_argv(host: str, port: int, threads: int) -> list[str]:
    return [
        "gunicorn",
        "--workers",
        "1",
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--bind",
        f"{host}:{port}",
        "--graceful-timeout",
        "5",
        # Several processes may serve one database; none needs a control socket.
        "--no-control-socket",
        # Websockets are long requests; the gthread worker's heartbeat runs apart from them.
        "--timeout",
        "60",
        "--access-logfile",
        os.environ.get("ACCESS_LOG", "") or "/dev/null",
        "--error-logfile",
        "-",
        "tracker:create_app()",
    ]


def main() -> None:
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    threads = int(os.environ.get("THREADS", "300"))
    argv = gunicorn_argv(host, port, threads)
    os.execv(os.path.join(os.path.dirname(sys.executable), "gunicorn"), argv)


if __name__ == "__main__":
    main()
