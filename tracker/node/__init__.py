"""Location nodes: a location's own server that keeps it running when the link to central is
down and forwards every record to central, in order, idempotently by id.

- `enrol`: on central, nodes and their tokens (stored only as hashes), and what each reported;
- `central`: on central, what a node pulls (`setup_for`) and how its records are applied;
- `forward`: on a node, the outbox (filled by triggers) and the forwarder;
- `pull`: on a node, storing what central sent (the event, the location, settings, records).
"""
