"""Random codes, tokens, badges and PIN hashing: everything that must be unguessable or slow."""

from __future__ import annotations

import importlib
import secrets
import ssl
import sys
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar, cast

from werkzeug.security import check_password_hash, generate_password_hash

T = TypeVar("T")

# Badge codes are read aloud and typed by staff: no 0/O, 1/I/L, 2/Z, 5/S, 8/B.
BADGE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
BADGE_LENGTH = 6
CODE_BYTES = 12  # 16 URL-safe characters, 96 bits: a station code cannot be guessed


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


def new_token() -> str:
    return secrets.token_urlsafe(24)


def new_pin() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def new_badge() -> str:
    return "".join(secrets.choice(BADGE_ALPHABET) for _ in range(BADGE_LENGTH))


def normalize_badge(text: str) -> str:
    """What staff type or scan back into the stored form ("ac d-3f4" -> "ACD3F4")."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


# werkzeug's default (scrypt, n=2**15); the test suite sets a cheap one in tests/conftest.py.
HASH_METHOD = "scrypt"


_pool = None


def off_loop(work: Callable[..., T], *args: Any) -> T:
    """Run CPU-heavy `work(*args)` in an OS thread of its own when the server runs gevent, so
    the loop that serves every other request goes on meanwhile (hashlib's scrypt and pbkdf2 and
    SQLite release the GIL); in plain threads or the command line, right here.

    One such thread per process: on a 2-core machine the loop keeps a core while the slow work
    queues on the other (4 clients guessing passwords in parallel took the loop's core too:
    check-in p99 51 ms with gevent's default pool of 10, `scripts/bench interference`).
    """
    global _pool
    monkey = sys.modules.get("gevent.monkey")
    if monkey is None or not monkey.is_module_patched("threading"):
        return work(*args)
    if _pool is None:
        _pool = importlib.import_module("gevent.threadpool").ThreadPool(1)
    return cast(T, _pool.apply(work, args))


def hash_secret(secret: str) -> str:
    """A salted scrypt hash of a PIN or password (werkzeug), computed off the serving loop:
    about 50-100 ms of CPU each, never inside a write transaction."""
    return off_loop(generate_password_hash, secret, HASH_METHOD)


def check_secret(hashed: str, secret: str) -> bool:
    """Whether `secret` matches `hashed`, computed off the serving loop (see hash_secret)."""
    return bool(hashed) and off_loop(check_password_hash, hashed, secret)


@cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every outgoing connection (alerts, a node's calls to central): making
    one loads the CA bundle, ~50 ms of CPU that would otherwise hold the serving loop each time."""
    return ssl.create_default_context()
