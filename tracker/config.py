"""Settings: defaults here, overridden by the environment (the table in README.md)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def from_env(env: os._Environ | dict | None = None) -> dict:
    """Read the environment once into Flask config keys."""
    env = os.environ if env is None else env
    public_url = env.get("PUBLIC_URL", "").rstrip("/")
    secret = env.get("SECRET_KEY")
    return {
        "DATABASE": env.get("TRACKER_DB", str(ROOT / "instance" / "tracker.db")),
        "SYNCHRONOUS": env.get("TRACKER_SYNCHRONOUS", "NORMAL"),
        # Litestream's replica of the database (tracker/replica.py), e.g. s3://bucket/tracker.
        "REPLICA": env.get("TRACKER_REPLICA") or None,
        # Past this the replica is "degraded" on /healthz (tracker/ops/litestream.py).
        "REPLICA_MAX_LAG_SECONDS": float(env.get("REPLICA_MAX_LAG_SECONDS") or 30),
        "EVENT": env.get("TRACKER_EVENT") or None,
        "PUBLIC_URL": public_url,
        # Without SECRET_KEY a random key is kept in instance/secret_key so cookies survive restarts.
        "SECRET_KEY": secret or _instance_secret(ROOT / "instance" / "secret_key"),
        "SESSION_COOKIE_SECURE": _bool(
            env.get("SECURE_COOKIES"), public_url.startswith("https://")
        ),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "MAX_CONTENT_LENGTH": int(env.get("MAX_BODY_BYTES", 64 * 1024)),
        "ADMIN_PASSWORD": env.get("ADMIN_PASSWORD") or None,
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory-fixed://"),
        "RATELIMIT_ENABLED": _bool(env.get("RATELIMIT_ENABLED"), True),
        "CHECKIN_LIMIT": env.get("CHECKIN_LIMIT", "10 per minute"),
        # Past these a check-in is held (stored, not counted until an organizer trusts its
        # network), never refused (tracker/web/api_checkins.py): new attendee identities and
        # counted check-ins per address, counted stations per attendee.
        "HOLD_NEW_IDENTITIES": env.get("HOLD_NEW_IDENTITIES", "60 per minute"),
        "HOLD_CHECKINS": env.get("HOLD_CHECKINS", "60 per minute"),
        "HOLD_STATIONS": env.get("HOLD_STATIONS", "3 per minute"),
        "STORY_LIMIT": env.get("STORY_LIMIT", "5 per minute"),
        "STORY_IP_LIMIT": env.get("STORY_IP_LIMIT", "120 per minute"),
        "BURST_IDENTITIES": int(env.get("BURST_IDENTITIES", 30)),
        # One address may hold this many requests (boards included) at once: a quarter of what
        # one server process accepts (WORKER_CONNECTIONS), so others always keep the rest.
        "CONNECTIONS_PER_ADDRESS": int(
            env.get("CONNECTIONS_PER_ADDRESS")
            or max(20, int(env.get("WORKER_CONNECTIONS", 2000)) // 4)
        ),
        "BODY_SECONDS": float(env.get("BODY_SECONDS", 10)),
        "STAFF_SIGNIN_LIMIT": env.get("STAFF_SIGNIN_LIMIT", "60 per minute"),
        "ADMIN_SIGNIN_LIMIT": env.get("ADMIN_SIGNIN_LIMIT", "10 per minute"),
        "ADMIN_SIGNIN_TOTAL": env.get("ADMIN_SIGNIN_TOTAL", "60 per minute"),
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", 0)),
        "FOLLOW_UP_SLA_HOURS": int(env.get("FOLLOW_UP_SLA_HOURS", 48)),
        # Alerts of new detractors and follow-ups (tracker/notify.py): e-mail and/or a webhook.
        "SMTP_HOST": env.get("SMTP_HOST") or None,
        "SMTP_PORT": int(env.get("SMTP_PORT") or 587),
        "SMTP_USER": env.get("SMTP_USER") or None,
        "SMTP_PASSWORD": env.get("SMTP_PASSWORD") or None,
        "SMTP_FROM": env.get("SMTP_FROM") or "tracker@localhost",
        "SMTP_STARTTLS": _bool(env.get("SMTP_STARTTLS"), True),
        "ALERT_EMAILS": [a.strip() for a in env.get("ALERT_EMAILS", "").split(",") if a.strip()],
        "ALERT_WEBHOOK_URL": env.get("ALERT_WEBHOOK_URL") or None,
        "ALERT_POLL_SECONDS": float(env.get("ALERT_POLL_SECONDS") or 5),
        "THEMES_POLL_SECONDS": float(env.get("THEMES_POLL_SECONDS") or 2),
        "ALERT_RETRY_SECONDS": float(env.get("ALERT_RETRY_SECONDS") or 30),
        "ALERT_MAX_ATTEMPTS": int(env.get("ALERT_MAX_ATTEMPTS") or 8),
        # The status page's thresholds (tracker/ops/status.py): a node not heard from for longer is
        # red; less free disk than this beside the database is amber (a fifth of it, red).
        "NODE_SILENT_SECONDS": float(env.get("NODE_SILENT_SECONDS") or 300),
        "DISK_FREE_MB": float(env.get("DISK_FREE_MB") or 500),
        # Logs (tracker/store/logs.py): "json" for one JSON object a line, else plain text.
        "LOG_FORMAT": (env.get("LOG_FORMAT") or "text").lower(),
        "LOG_LEVEL": env.get("LOG_LEVEL") or "INFO",
        # GET /metrics answers loopback addresses, and others sending this as a bearer token.
        "METRICS_TOKEN": env.get("METRICS_TOKEN") or None,
        "ALERTS_PER_SOURCE_MINUTE": int(env.get("ALERTS_PER_SOURCE_MINUTE") or 3),
        "LIVE_POLL_SECONDS": float(env.get("LIVE_POLL_SECONDS", 0.25)),
        # Socket.IO messages a client may send in 10 s, per connection and per address (a venue's
        # screens share one); past either it is disconnected (tracker/web/live.py).
        "SOCKET_MESSAGES_PER_CONNECTION": int(env.get("SOCKET_MESSAGES_PER_CONNECTION", 30)),
        "SOCKET_MESSAGES_PER_ADDRESS": int(env.get("SOCKET_MESSAGES_PER_ADDRESS", 600)),
        # A location node: central's URL and the token `flask node add` printed there.
        "NODE_UPSTREAM": env.get("TRACKER_UPSTREAM", "").rstrip("/") or None,
        "NODE_TOKEN": env.get("TRACKER_NODE_TOKEN") or None,
        "NODE_PULL_SECONDS": float(env.get("NODE_PULL_SECONDS", 2)),
        "NODE_API_LIMIT": env.get("NODE_API_LIMIT", "1200 per minute"),
    }


def _instance_secret(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        path.write_text(key)
        path.chmod(0o600)
        return key
