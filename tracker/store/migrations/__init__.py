"""The schema's numbered migrations, one module each, and the triggers that keep the totals in
the same transaction as every write (the scoreboard reads those totals, never the rows).

`db.migrate` applies what a database lacks, at every start. Never edit a released migration:
add the next one (vN.py) and append it here. Entry i moves the schema to PRAGMA user_version i+1.
"""

from __future__ import annotations

from . import v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13

MIGRATIONS: list[str] = [
    v1.SQL,
    v2.SQL,
    v3.SQL,
    v4.SQL,
    v5.SQL,
    v6.SQL,
    v7.SQL,
    v8.SQL,
    v9.SQL,
    v10.SQL,
    v11.SQL,
    v12.SQL,
    v13.SQL,
]
