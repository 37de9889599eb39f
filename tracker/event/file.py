"""The event file: TOML that describes an event, its locations and stations, checked whole
before anything is stored (pydantic), with errors that name the file, the entry and the fault."""

from __future__ import annotations

import ipaddress
import tomllib
import zoneinfo
from collections.abc import Mapping
from datetime import date
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from ..contract.sentences import N_, Refusal
from .countries import CODES
from .languages import LANGUAGES, supported

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, min_length=1, max_length=40)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Pin = Annotated[str, StringConstraints(pattern=r"^[0-9]{4,8}$")]
Kind = Literal["checkins", "conversations"]
STATION_KINDS = ("booth", "demo", "game-show", "story-corner", "analytics-expo", "other")


class EventFileError(ValueError):
    """The event file cannot be loaded; the message names the file, the entry and the fault."""


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_language(value: str | None) -> str | None:
    """One of tracker's languages, by its BCP 47 tag ("de", "pt-BR"), or ValueError."""
    if value is None:
        return None
    found = supported(value)
    if found is None:
        raise Refusal(
            N_("unknown language %(language)s (use one of %(languages)s)"),
            language=repr(value),
            languages=", ".join(LANGUAGES),
        )
    return found


def check_timezone(value: str) -> str:
    if value not in _time_zones():
        raise Refusal(
            N_("unknown time zone %(zone)s (use an IANA name such as %(example)s)"),
            zone=repr(value),
            example="'Europe/Dublin'",
        )
    return value


def check_country(value: str) -> str:
    """An ISO 3166 alpha-2 country code, in capitals ("ie" is IE), or a Refusal."""
    if value.upper() not in CODES:
        raise Refusal(
            N_("unknown country code %(code)s (use ISO 3166 alpha-2, e.g. %(example)s)"),
            code=repr(value),
            example="'IE'",
        )
    return value.upper()


NETWORKS_MAX = 100  # a venue has a handful; a list this long is a mistake
# The widest network one entry may name: wider would trust nearly every address there is.
WIDEST_PREFIX = {4: 8, 6: 32}


def check_network(value: str) -> str:
    """An address or a CIDR network of the venue ('203.0.113.7', '203.0.113.0/24',
    '2001:db8:5::/48') in its normal form (a single address without its /32 or /128), or
    ValueError, also for one wider than /8 (IPv4) or /32 (IPv6)."""
    text = value.strip()
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise Refusal(
            N_("%(text)s is not an address or a network (e.g. %(address)s or %(network)s)"),
            text=repr(text),
            address="'203.0.113.7'",
            network="'203.0.113.0/24'",
        ) from None
    widest = WIDEST_PREFIX[network.version]
    if network.prefixlen < widest:
        raise Refusal(
            N_("%(text)s is wider than /%(prefix)s: it would trust nearly everyone"),
            text=repr(text),
            prefix=widest,
        )
    return str(network.network_address) if network.num_addresses == 1 else str(network)


def check_networks(values: list[str]) -> list[str]:
    """Each entry checked (check_network), in order, each once."""
    return list(dict.fromkeys(check_network(v) for v in values))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class StationSpec(_Strict):
    slug: Slug
    name: Name
    kind: Literal[STATION_KINDS] = "booth"  # type: ignore[valid-type]
    pin: Pin | None = None


class LocationSpec(_Strict):
    slug: Slug
    name: Name
    city: Name
    country: str
    timezone: str
    # What its screens, sheets and staff pages speak; attendees' phones choose their own.
    language: str | None = None
    stations: list[StationSpec] = Field(default_factory=list)

    _language = field_validator("language")(classmethod(lambda cls, v: check_language(v)))

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        return check_country(value)

    _tz = field_validator("timezone")(classmethod(lambda cls, v: check_timezone(v)))

    @field_validator("stations")
    @classmethod
    def _unique_stations(cls, stations: list[StationSpec]) -> list[StationSpec]:
        _refuse_duplicates("station", [s.slug for s in stations])
        return stations


class EventSpec(_Strict):
    slug: Slug
    name: Name
    goal: int = Field(default=1000, gt=0, le=10_000_000)
    timezone: str
    starts_at: date | None = None
    ends_at: date | None = None
    counts: list[Kind] = Field(default_factory=lambda: list(get_args(Kind)), min_length=1)
    topics: list[Name] = Field(default_factory=list, max_length=40)
    # Which public stories wait for an organizer's approval: attendees' only, or staff's too.
    moderation: Literal["attendees", "all"] = "attendees"
    # The language of every location that names none.
    language: str = "en"
    # Staff's quick mode: badge, score and one topic save a conversation, the story optional.
    # Left out, a reload keeps what the event has (an organizer may have switched it).
    quick_mode: bool | None = None
    # The venue's networks (addresses and CIDR networks, e.g. the guest wifi's public address):
    # records from them are never held. A reload adds the file's to those the event has
    # (an organizer may have trusted more on the day); the console removes them.
    networks: list[str] | None = Field(default=None, max_length=NETWORKS_MAX)

    _language = field_validator("language")(classmethod(lambda cls, v: check_language(v)))

    _tz = field_validator("timezone")(classmethod(lambda cls, v: check_timezone(v)))

    _networks = field_validator("networks")(
        classmethod(lambda cls, v: None if v is None else check_networks(v))
    )


class EventFile(_Strict):
    event: EventSpec
    locations: list[LocationSpec] = Field(min_length=1)

    @field_validator("locations")
    @classmethod
    def _unique_locations(cls, locations: list[LocationSpec]) -> list[LocationSpec]:
        _refuse_duplicates("location", [loc.slug for loc in locations])
        return locations


def _refuse_duplicates(what: str, slugs: list[str]) -> None:
    seen: set[str] = set()
    for slug in slugs:
        if slug in seen:
            raise ValueError(f"duplicate {what} slug {slug!r}")
        seen.add(slug)


def read_event_file(path: str | Path) -> EventFile:
    """Parse and check an event file, or raise EventFileError saying where and what is wrong."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise EventFileError(f"{path}: no such file") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise EventFileError(f"{path}: not valid TOML: {exc}") from exc
    return parse_event(data, source=str(path))


def parse_event(data: dict[str, Any], source: str = "event") -> EventFile:
    try:
        return EventFile.model_validate(data)
    except ValidationError as exc:
        problems = [f"{source}: {_where(data, err['loc'])}: {_what(err)}" for err in exc.errors()]
        raise EventFileError("\n".join(problems)) from None


def _where(data: object, loc: tuple[int | str, ...]) -> str:
    """'locations[3] (cork) > stations[1] (booth) > pin': the entry as a person finds it."""
    parts: list[str] = []
    node = data
    for key in loc:
        if isinstance(key, int):
            node = node[key] if isinstance(node, list) and key < len(node) else None
            label = node.get("slug") if isinstance(node, dict) else None
            parts[-1] += f"[{key + 1}]" + (f" ({label})" if label else "")
        else:
            parts.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return " > ".join(parts) or "file"


def _what(err: Mapping[str, Any]) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "missing":
        return "is required but missing"
    if err["type"] == "extra_forbidden":
        return "is not a known setting"
    return msg
