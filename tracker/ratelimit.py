"""Rate-limit keys: a whole venue may share one IP behind NAT, so key on the person, not the address."""

from __future__ import annotations

from flask import request
from flask_limiter.util import get_remote_address


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


def ip_key() -> str:
    return f"ip:{request.remote_addr}"
