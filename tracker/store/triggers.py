"""The SQL of the triggers that keep station_totals and the time buckets in step with every
write to checkins and conversations, in the same transaction (tracker/migrations uses them)."""

from __future__ import annotations

from collections.abc import Callable


def quarter(moment: str) -> str:
    """SQL: the UTC quarter hour ('YYYY-MM-DDTHH:MM', MM in 00 15 30 45) of an ISO time."""
    return f"printf('%s%02d', substr({moment}, 1, 14), substr({moment}, 15, 2) / 15 * 15)"


def counts(row: str, held: bool = False) -> str:
    """SQL, 1 or 0: whether the version `row` (new or old) of a check-in or conversation adds to
    the totals: counted (a first visit, a staff conversation, an attendee's first story at the
    station), not voided, and (schema 8, `held`) not held: stored from an address past what it
    can plausibly produce, until an organizer trusts that network."""
    if held:
        return f"({row}.counted = 1 AND {row}.voided_at IS NULL AND {row}.held_from IS NULL)"
    return f"({row}.counted = 1 AND {row}.voided_at IS NULL)"


def _bucket(
    row: str, sign: str, column: str, moment: str, quarters: bool, held: bool = False
) -> str:
    """Add one to (`sign` "+") or take one from ("-") the row's time bucket, when it counts:
    its UTC quarter hour in station_quarters (schema 4), its UTC hour in station_hours before."""
    table, key = ("station_quarters", "quarter") if quarters else ("station_hours", "hour")
    at = quarter(moment) if quarters else f"substr({moment}, 1, 13)"
    if sign == "+":
        return (
            f"INSERT INTO {table} (station_id, {key}, {column})"
            f" SELECT {row}.station_id, {at}, 1 WHERE {counts(row, held)}"
            f" ON CONFLICT (station_id, {key}) DO UPDATE SET {column} = {column} + 1;"
        )
    return (
        f"UPDATE {table} SET {column} = {column} - 1 WHERE {counts(row, held)}"
        f" AND station_id = {row}.station_id AND {key} = {at};"
    )


def _totals(
    row: str,
    sign: str,
    sets: dict[str, str],
    column: str,
    moment: str,
    quarters: bool,
    held: bool = False,
) -> str:
    """Add or take out one version of a row: each station_totals column by its SQL test, and
    its time bucket."""
    assignments = ", ".join(f"{name} = {name} {sign} {test}" for name, test in sets.items())
    return f"""
        UPDATE station_totals SET {assignments} WHERE station_id = {row}.station_id;
        {_bucket(row, sign, column, moment, quarters, held)}"""


def checkin_totals(row: str, sign: str, quarters: bool = False, held: bool = False) -> str:
    """Add (`sign` "+") or take out ("-") one version of a check-in from the maintained totals.
    With `held` (schema 8) a held check-in is neither a first visit nor a repeat there."""
    repeat = f"({row}.counted = 0 AND {row}.voided_at IS NULL"
    repeat += f" AND {row}.held_from IS NULL)" if held else ")"
    sets = {"checkins": counts(row, held), "repeat_checkins": repeat}
    return _totals(row, sign, sets, "checkins", f"{row}.received_at", quarters, held)


def conversation_totals(row: str, sign: str, quarters: bool = False, held: bool = False) -> str:
    """Add or take out one version of a conversation: its count, its NPS band, its hour."""

    def band(test: str) -> str:
        return f"({counts(row, held)} AND ifnull({row}.nps {test}, 0))"

    sets = {
        "conversations": counts(row, held),
        "promoters": band(">= 9"),
        "passives": band("IN (7, 8)"),
        "detractors": band("<= 6"),
    }
    # A device clock that runs ahead is clamped to the moment the server received it.
    moment = f"min({row}.captured_at, {row}.received_at)"
    return _totals(row, sign, sets, "conversations", moment, quarters, held)


# Schema 8: an attendee's own story is held when its teller is held as a whole (a phone first
# seen past what its address can plausibly produce) or when their check-in at that station is
# held: a story counts only where its check-in counts. Run in the insert trigger after the row
# was counted in, so the change trigger takes it out again in the same statement.
HOLD_ATTENDEE_STORY = """
        UPDATE conversations SET held_from = coalesce(
               (SELECT a.held_from FROM attendees a WHERE a.id = new.attendee_id),
               (SELECT c.held_from FROM checkins c WHERE c.attendee_id = new.attendee_id
                   AND c.station_id = new.station_id AND c.counted = 1))
         WHERE id = new.id AND new.source = 'attendee' AND new.held_from IS NULL
           AND coalesce(
               (SELECT a.held_from FROM attendees a WHERE a.id = new.attendee_id),
               (SELECT c.held_from FROM checkins c WHERE c.attendee_id = new.attendee_id
                   AND c.station_id = new.station_id AND c.counted = 1)) IS NOT NULL;"""


def totals_triggers(
    table: str, totals: Callable[[str, str], str], on_update: str, after_insert: str = ""
) -> str:
    """The triggers that keep the totals in step with `table` (checkins or conversations): a
    row added counts in and is its station's latest activity; a row changed in a column that
    `on_update` names takes its old version out and puts its new one in; a row deleted counts
    out. `on_update` keeps the line break migration 3 shipped with: SQLite stores each
    trigger's text as written. `after_insert` is SQL run last in the insert trigger."""
    return f"""
    CREATE TRIGGER {table}_totals AFTER INSERT ON {table} BEGIN
        {totals("new", "+")}
        UPDATE station_totals SET last_activity_at = new.received_at
         WHERE station_id = new.station_id;{after_insert}
    END;
    CREATE TRIGGER {table}_totals_change{on_update} BEGIN
        {totals("old", "-")}
        {totals("new", "+")}
    END;
    CREATE TRIGGER {table}_totals_delete AFTER DELETE ON {table} BEGIN
        {totals("old", "-")}
    END;"""
