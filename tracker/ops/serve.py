"""Serve tracker with gunicorn: one gevent worker per process, websockets included.

Flask-SocketIO needs one worker per process (`-w 1`). The gevent worker patches the standard
library, so each request and each open board is a greenlet; SQLite calls never yield, so the
greenlets of a process share one connection (tracker.db); README, Performance, has the figures.
Settings that need code live in gunicorn_conf.py. Scale out with several processes on one
database file.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def gunicorn_argv(
    host: str, port: int, app: str = "tracker:create_app()", pythonpath: Path | None = None
) -> list[str]:
    """The production command, gunicorn's own path first; the benchmark serves its own `app`."""
    return [
        os.path.join(os.path.dirname(sys.executable), "gunicorn"),
        *(["--pythonpath", str(pythonpath)] if pythonpath else []),
        "--workers",
        "1",
        "--worker-connections",
        os.environ.get("WORKER_CONNECTIONS", "2000"),
        "--bind",
        f"{host}:{port}",
        "--graceful-timeout",
        "5",
        # Several processes may serve one database; none needs a control socket.
        "--no-control-socket",
        # Websockets are long requests; the worker's heartbeat runs apart from them.
        "--timeout",
        "60",
        # The worker class (gevent, with a share of connections per address) is set there.
        "--config",
        str(Path(__file__).with_name("gunicorn_conf.py")),
        *(["--access-logfile", os.environ["ACCESS_LOG"]] if os.environ.get("ACCESS_LOG") else []),
        "--error-logfile",
        "-",
        app,
    ]


def free_port() -> int:
    """A port on 127.0.0.1 that nobody listens on right now (tests and benchmarks)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """A server on a free port of 127.0.0.1 for tests and benchmarks: gunicorn with the arguments
    `python -m tracker.ops.serve` gives it, unless `argv` says otherwise (PORT and HOST are set
    for it). Not through that launcher: it would import the whole app (tracker/__init__.py) only
    to exec gunicorn, whose worker imports it again, and that first import was up to a third of a
    start on a loaded machine. Its log goes to a temporary file, which nobody has to drain and
    which a failed start quotes."""

    def __init__(self, env: dict, argv: list[str] | None = None, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.argv = argv or gunicorn_argv("127.0.0.1", self.port)
        self.env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(self.port), **env}
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (lives until stop)

    def start(self, timeout: float = 30) -> ServerProcess:
        """Start it and return once it answers /healthz. It fails at once, with its log, if the
        server exits; otherwise it waits for the answer, however busy the machine: a start is
        imports and set-up, CPU work, which a loaded machine spreads over more time. So `timeout`
        counts the server's own CPU time (its processes'), which the load does not use up (a
        server looping instead of answering); and ten times as long by the clock, against a
        server stuck waiting for something."""
        root = Path(__file__).resolve().parents[2]
        if self.log.closed:  # started again after a stop
            self.log = tempfile.TemporaryFile()  # noqa: SIM115
        self.proc = subprocess.Popen(
            self.argv, cwd=root, env=self.env, stdout=subprocess.DEVNULL, stderr=self.log
        )
        began = time.monotonic()
        while True:
            if self.proc.poll() is not None:
                log = self.log_tail()
                self.stop()
                raise RuntimeError(f"server exited: {log}")
            spent, used = time.monotonic() - began, self.cpu_seconds()
            if (spent if used is None else used) > timeout or spent > 10 * timeout:
                log = self.log_tail()
                self.stop(kill=True)
                cpu = "" if used is None else f"{used:.1f} s of its CPU time, "
                raise RuntimeError(f"server did not answer /healthz ({cpu}{spent:.1f} s): {log}")
            try:
                # Long enough for a busy worker's first answer: a probe given up is still served.
                with urllib.request.urlopen(self.url + "/healthz", timeout=5):
                    return self
            except OSError:
                time.sleep(0.1)

    def cpu_seconds(self) -> float | None:
        """The CPU time (user and system) the server's processes have used so far, from /proc;
        None where there is no /proc."""
        assert self.proc is not None
        ticks = 0
        for pid in self.processes():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                if pid == self.proc.pid:
                    return None
                continue  # gone meanwhile
            fields = stat[stat.rindex(")") + 2 :].split()  # after the command's name
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def log_tail(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-2000:]

    def worker_pid(self) -> int:
        """gunicorn's one worker, where the app (and the scoreboard watcher) run."""
        assert self.proc is not None
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        return int(children.split()[0])

    def processes(self) -> list[int]:
        """The server's process and every process under it (gunicorn's worker, Litestream's
        children), parents first, from /proc (only the server's own where /proc has no list)."""
        assert self.proc is not None
        found, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop(0)
            found.append(pid)
            try:
                for task in Path(f"/proc/{pid}/task").iterdir():
                    todo += [int(child) for child in (task / "children").read_text().split()]
            except OSError:  # gone meanwhile, or no such list here
                pass
        return found

    def stop(self, kill: bool = False) -> None:
        """Drain the server (SIGTERM: gunicorn's graceful stop), or with `kill` SIGKILL it and
        every process under it at one moment: a crash, or a test's teardown with nothing to
        drain (a killed master alone would leave its worker serving until it noticed)."""
        if self.proc and self.proc.poll() is None:
            if kill:
                everything = self.processes()
                for sig in (signal.SIGSTOP, signal.SIGKILL):  # none runs on once one is killed
                    for pid in everything:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, sig)
            else:
                self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def main() -> None:
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    argv = gunicorn_argv(host, port)
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
