"""The SQL of the triggers that keep station_totals and the time buckets in step with every
write to checkins and conversations, in the same transaction (tracker/migrations uses them)."""

from __future__ import annotations

from collections.abc import Callable


def quarter(moment: str) -> str:
    """SQL: the UTC quarter hour ('YYYY-MM-DDTHH:MM', MM in 00 15 30 45) of an ISO time."""
    return f"printf('%s%02d', substr({moment}, 1, 14), substr({moment}, 15, 2) / 15 * 15)"


def counts(row: str) -> str:
    """SQL, 1 or 0: whether the version `row` (new or old) of a check-in or conversation adds to
    the totals: counted (a first visit, a staff conversation, an attendee's first story at the
    station) and not voided."""
    return f"({row}.counted = 1 AND {row}.voided_at IS NULL)"


def _bucket(row: str, sign: str, column: str, moment: str, quarters: bool) -> str:
    """Add one to (`sign` "+") or take one from ("-") the row's time bucket, when it counts:
    its UTC quarter hour in station_quarters (schema 4), its UTC hour in station_hours before."""
    table, key = ("station_quarters", "quarter") if quarters else ("station_hours", "hour")
    at = quarter(moment) if quarters else f"substr({moment}, 1, 13)"
    if sign == "+":
        return (
            f"INSERT INTO {table} (station_id, {key}, {column})"
            f" SELECT {row}.station_id, {at}, 1 WHERE {counts(row)}"
            f" ON CONFLICT (station_id, {key}) DO UPDATE SET {column} = {column} + 1;"
        )
    return (
        f"UPDATE {table} SET {column} = {column} - 1 WHERE {counts(row)}"
        f" AND station_id = {row}.station_id AND {key} = {at};"
    )


def _totals(
    row: str, sign: str, sets: dict[str, str], column: str, moment: str, quarters: bool
) -> str:
    """Add or take out one version of a row: each station_totals column by its SQL test, and
    its time bucket."""
    assignments = ", ".join(f"{name} = {name} {sign} {test}" for name, test in sets.items())
    return f"""
        UPDATE station_totals SET {assignments} WHERE station_id = {row}.station_id;
        {_bucket(row, sign, column, moment, quarters)}"""


def checkin_totals(row: str, sign: str, quarters: bool = False) -> str:
    """Add (`sign` "+") or take out ("-") one version of a check-in from the maintained totals."""
    sets = {
        "checkins": counts(row),
        "repeat_checkins": f"({row}.counted = 0 AND {row}.voided_at IS NULL)",
    }
    return _totals(row, sign, sets, "checkins", f"{row}.received_at", quarters)


def conversation_totals(row: str, sign: str, quarters: bool = False) -> str:
    """Add or take out one version of a conversation: its count, its NPS band, its hour."""

    def band(test: str) -> str:
        return f"({counts(row)} AND ifnull({row}.nps {test}, 0))"

    sets = {
        "conversations": counts(row),
        "promoters": band(">= 9"),
        "passives": band("IN (7, 8)"),
        "detractors": band("<= 6"),
    }
    # A device clock that runs ahead is clamped to the moment the server received it.
    moment = f"min({row}.captured_at, {row}.received_at)"
    return _totals(row, sign, sets, "conversations", moment, quarters)


def totals_triggers(table: str, totals: Callable[[str, str], str], on_update: str) -> str:
    """The triggers that keep the totals in step with `table` (checkins or conversations): a
    row added counts in and is its station's latest activity; a row changed in a column that
    `on_update` names takes its old version out and puts its new one in; a row deleted counts
    out. `on_update` keeps the line break migration 3 shipped with: SQLite stores each
    trigger's text as written."""
    return f"""
    CREATE TRIGGER {table}_totals AFTER INSERT ON {table} BEGIN
        {totals("new", "+")}
        UPDATE station_totals SET last_activity_at = new.received_at
         WHERE station_id = new.station_id;
    END;
    CREATE TRIGGER {table}_totals_change{on_update} BEGIN
        {totals("old", "-")}
        {totals("new", "+")}
    END;
    CREATE TRIGGER {table}_totals_delete AFTER DELETE ON {table} BEGIN
        {totals("old", "-")}
    END;"""
