"""Rate limits: a whole venue may share one IP behind NAT, so key on the person, not the address.

Flask-Limiter holds the configuration and the storage (memory, or Redis when configured). The
check-in path asks its strategy directly, once per limit: the decorator machinery costs more than
the check-in itself at hundreds of scans a second.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache, wraps

from flask import current_app, request
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse
from werkzeug.exceptions import TooManyRequests

from . import limitstore  # noqa: F401  (registers the tracker-memory:// storage)


def limit_key() -> str:
    """The attendee token when there is one, the staff station when signed in, else the IP."""
    from .web.identity import attendee_token, staff_station_id

    token = attendee_token()
    if token:
        return f"attendee:{token}"
    station = staff_station_id()
    if station:
        return f"station:{station}"
    return f"ip:{get_remote_address()}"


@cache
def _item(text: str) -> RateLimitItem:
    return parse(text)


def enforce(limit: str, key: str, message: str) -> None:
    """Count one hit against `limit` for `key`; over it, a 429 that says when to try again."""
    from . import limiter

    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    item = _item(limit)
    if not limiter.limiter.hit(item, key):
        reset_at, _ = limiter.limiter.get_window_stats(item, key)
        raise TooManyRequests(message, retry_after=max(1, int(reset_at - time.time()) + 1))


def checkin_limits(view: Callable) -> Callable:
    """Per attendee (CHECKIN_LIMIT), then a loose cap per IP (IP_LIMIT) that also covers phones
    without a cookie yet; shared by the JSON API and the no-JavaScript form. A check-in without
    a cookie makes a new attendee identity: NEW_IDENTITY_LIMIT caps those per address, so a
    script that drops its cookie cannot add engagements faster than that."""
    from .web.identity import attendee_token

    @wraps(view)
    def limited(*args, **kwargs):
        config = current_app.config
        token = attendee_token()
        if token:
            enforce(
                config["CHECKIN_LIMIT"],
                f"checkins/attendee/{token}",
                "Too many check-ins from this phone. Wait a minute, then try again.",
            )
        else:
            enforce(
                config["NEW_IDENTITY_LIMIT"],
                f"identities/ip/{request.remote_addr}",
                "Too many new visitors from this network right now. Wait a minute, then try again.",
            )
        enforce(
            config["IP_LIMIT"],
            f"checkins/ip/{request.remote_addr}",
            "Too many check-ins from this network right now. Wait a minute, then try again.",
        )
        return view(*args, **kwargs)

    return limited


def story_limits() -> None:
    """An attendee's own stories: per attendee (STORY_LIMIT) and per address (STORY_IP_LIMIT),
    so neither a fresh cookie nor a second phone on the same network lifts the limit."""
    from .web.identity import attendee_token

    config = current_app.config
    enforce(
        config["STORY_LIMIT"],
        f"stories/attendee/{attendee_token()}",
        "You have sent several stories just now. Wait a minute, then try again.",
    )
    enforce(
        config["STORY_IP_LIMIT"],
        f"stories/ip/{request.remote_addr}",
        "Too many stories from this network right now. Wait a minute, then try again.",
    )


def sign_in_limits(known_device: bool = False) -> None:
    """Organizer sign-in attempts: ADMIN_SIGNIN_LIMIT per address, whatever cookie it sends,
    and ADMIN_SIGNIN_TOTAL from everywhere, so many addresses cannot guess faster either. A
    device where that organizer signed in before skips the overall limit (a device cookie, as
    OWASP suggests against lockout attacks): strangers exhausting it cannot lock them out."""
    config = current_app.config
    enforce(
        config["ADMIN_SIGNIN_LIMIT"],
        f"signin/ip/{request.remote_addr}",
        "Too many sign-in attempts from this network. Wait a minute, then try again.",
    )
    if not known_device:
        enforce(
            config["ADMIN_SIGNIN_TOTAL"],
            "signin/all",
            "Too many sign-in attempts right now. Wait a minute, then try again.",
        )


def staff_sign_in_limits() -> None:
    """Staff PIN attempts per address, across every station (STAFF_SIGNIN_LIMIT): the lockout
    counts wrong PINs per station, and this keeps one address from queueing hundreds of PIN
    checks at once (each is a slow hash) and holding up everyone's sign-in."""
    enforce(
        current_app.config["STAFF_SIGNIN_LIMIT"],
        f"staff-signin/ip/{request.remote_addr}",
        "Too many sign-in attempts from this network. Wait a minute, then try again.",
    )
