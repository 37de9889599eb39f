"""GET /metrics: the Prometheus text format, read back with prometheus-client's own parser;
it moves as check-ins arrive, and answers strangers only with the token."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tracker.node import enrol


def scrape(client, **headers) -> dict:
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    values = {}
    for family in text_string_to_metric_families(answer.get_data(as_text=True)):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def test_metrics_parse_and_move_as_check_ins_arrive(client, db, event):
    enrol.add(db, event, "cork")
    before = scrape(client)
    code = event["stations"]["booth"]["code"]
    assert client.post("/api/checkins", json={"station": code}).status_code == 201
    assert client.post("/api/checkins", json={"station": "no-such-code"}).status_code == 404
    after = scrape(client)
    new = ("tracker_checkins_total", (("result", "new"),))
    refused = ("tracker_checkins_total", (("result", "refused"),))
    assert after[new] == before.get(new, 0) + 1 and after[refused] == before.get(refused, 0) + 1
    timed = ("tracker_request_seconds_count", (("method", "POST"), ("route", "/api/checkins")))
    assert after[timed] >= 2
    assert ("tracker_node_silent_seconds", (("location", "cork"), ("node", "1"))) in after
    assert after[("tracker_alerts", (("state", "waiting"),))] == 0
    assert ("tracker_screens_connected", ()) in after and ("tracker_wal_bytes", ()) in after


def test_metrics_answer_strangers_only_with_the_token(make_app, event):
    app = make_app(METRICS_TOKEN="s3cret-token")
    stranger = {"REMOTE_ADDR": "203.0.113.9"}
    client = app.test_client()
    assert client.get("/metrics", environ_base=stranger).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert client.get("/metrics", environ_base=stranger, headers=wrong).status_code == 401
    right = {"Authorization": "Bearer s3cret-token"}
    assert client.get("/metrics", environ_base=stranger, headers=right).status_code == 200
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
