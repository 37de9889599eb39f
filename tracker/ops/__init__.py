"""Running tracker: serving with gunicorn, replication with Litestream, rehearsal traffic."""
