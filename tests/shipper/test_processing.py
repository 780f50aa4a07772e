"""Processing per input through a real broker: line filters, drop rules, redaction (body, attributes, original,
multiline events), rename/remove, per-input and templated topics, the metrics, and what processing must not change
(event ids, the checkpoint)."""

import uuid
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka.admin import AdminClient, NewTopic

from shipper.config import ShipperConfig, parse_config
from tests.shipper.support import FAST, RunningShipper, run_once, shipped, topic_size, wait_for_count, wait_until, write_lines
from tests.support.kafka import new_topic
from tests.support.metrics import naming_problems, scrape, value
from tests.support.proxy import free_port


def config_for(tmp_path: Path, bootstrap: str, topic: str, *inputs: dict[str, Any], state: str = "state",
               shipper: dict[str, Any] | None = None) -> ShipperConfig:
    return parse_config({
        "shipper": {"state_dir": str(tmp_path / state), "host_id": "test-host", **FAST, **(shipper or {})},
        "kafka": {"bootstrap_servers": bootstrap, "topic": topic, "linger_ms": 5},
        "inputs": list(inputs),
    })


def logs(tmp_path: Path, name: str, lines: list[str]) -> str:
    directory = tmp_path / name
    directory.mkdir(exist_ok=True)
    write_lines(directory / f"{name}.log", lines)
    return str(directory / "*.log")


def test_include_and_exclude_lines_ship_the_kept_lines_and_the_checkpoint_passes_the_others(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    lines = [f"{level} request {i} done" for i in range(60) for level in ("INFO", "DEBUG", "ERROR")]
    paths = logs(tmp_path, "app", lines)
    config = config_for(tmp_path, kafka_bootstrap, kafka_topic, {
        "id": "app", "paths": [paths], "format": "plain",
        "include_lines": ["^(INFO|ERROR) ", "DEBUG request 7 "], "exclude_lines": ["request 1[0-9] ", "ERROR request 5 "],
    })
    assert run_once(config) == 0
    expected = [line for line in lines if (not line.startswith("DEBUG") or "request 7 " in line)
                and not any(f"request {n} " in line for n in range(10, 20)) and line != "ERROR request 5 done"]
    assert sorted(e["body"] for e in shipped(kafka_bootstrap, kafka_topic)) == sorted(expected)
    # run again: the filtered lines were handled, so nothing is read again and nothing is shipped twice
    assert run_once(config) == 0
    assert topic_size(kafka_bootstrap, kafka_topic) == len(expected)


def test_drop_rules_leave_out_events_by_field_and_keep_the_rest(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    records = [
        {"level": "debug", "msg": "noise", "status": 200},
        {"level": "info", "msg": "health check", "path": "/healthz", "status": 200},
        {"level": "info", "msg": "served", "path": "/api", "status": 200},
        {"level": "error", "msg": "failed", "path": "/api", "status": 500},
        {"level": "info", "msg": "string status", "path": "/api", "status": "200"},
    ]
    paths = logs(tmp_path, "app", [orjson.dumps(r).decode() for r in records])
    config = config_for(tmp_path, kafka_bootstrap, kafka_topic, {
        "id": "app", "paths": [paths], "format": "json",
        "drop": [{"name": "debug", "field": "severity_number", "below": 9},
                 {"name": "probes", "field": "attributes.path", "matches": "^/health"},
                 {"name": "numeric-200", "field": "attributes.status", "equals": [200, 204], }],
    })
    assert run_once(config) == 0
    assert sorted(e["body"] for e in shipped(kafka_bootstrap, kafka_topic)) == ["failed", "string status"]


def test_redaction_covers_body_attributes_original_and_multiline_events_and_keeps_event_ids(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    secrets = [
        "2026-12-01 10:00:00 INFO paid with 4111 1111 1111 1111, ref 4111 1111 1111 1112",
        "2026-12-01 10:00:01 INFO mail to alice@example.org sent",
        "2026-12-01 10:00:02 ERROR login failed",
        "  request header Authorization: Bearer abc.DEF-123",
        "  form password=hunter2&user=bob",
        "2026-12-01 10:00:03 INFO key AKIAIOSFODNN7EXAMPLE rotated",
    ]
    paths = logs(tmp_path, "text", secrets)
    json_lines = [
        orjson.dumps({"level": "info", "msg": "signup", "user": {"email": "bob@example.com"},
                      "note": "password: swordfish"}).decode(),
        '{"level": "info", "msg": "broken json with carol@example.net',
    ]
    json_paths = logs(tmp_path, "json", json_lines)
    everything = [{"builtin": name} for name in ("credit_card", "email", "bearer_token", "aws_key", "password")]
    inputs = [
        {"id": "text", "paths": [paths], "format": "plain", "multiline": {"mode": "start", "pattern": r"^\d{4}-"}},
        {"id": "json", "paths": [json_paths], "format": "json"},
    ]
    plain_topic = new_topic(kafka_bootstrap)
    assert run_once(config_for(tmp_path, kafka_bootstrap, plain_topic, *inputs, state="plain")) == 0
    redacted = [{**item, "redact": everything} for item in inputs]
    assert run_once(config_for(tmp_path, kafka_bootstrap, kafka_topic, *redacted)) == 0

    events = {e["event_id"]: e for e in shipped(kafka_bootstrap, kafka_topic)}
    plain = {e["event_id"]: e for e in shipped(kafka_bootstrap, plain_topic)}
    assert set(events) == set(plain)  # processing never changes an event's id
    by_body = {str(e["body"]): e for e in events.values()}
    assert "2026-12-01 10:00:00 INFO paid with [REDACTED:credit_card], ref 4111 1111 1111 1112" in by_body
    assert "2026-12-01 10:00:01 INFO mail to [REDACTED:email] sent" in by_body
    joined = "\n".join(["2026-12-01 10:00:02 ERROR login failed",
                        "  request header Authorization: Bearer [REDACTED:bearer_token]",
                        "  form password=[REDACTED:password]&user=bob"])
    assert joined in by_body  # a multiline event, redacted as a whole
    assert "2026-12-01 10:00:03 INFO key [REDACTED:aws_key] rotated" in by_body
    text = "".join(orjson.dumps(e).decode() for e in events.values())
    for secret in ("4111 1111 1111 1111", "alice@", "abc.DEF-123", "hunter2", "AKIAIOSFODNN7EXAMPLE", "bob@example.com",
                   "swordfish", "carol@example.net"):
        assert secret not in text, f"{secret!r} left the host"
    signup = by_body["signup"]
    assert signup["attributes"]["user"] == {"email": "[REDACTED:email]"}
    assert signup["attributes"]["note"] == "password: [REDACTED:password]"
    [broken] = [e for e in events.values() if e["parse_error"]]  # the raw line as body and as original, both redacted
    assert broken["body"] == broken["attributes"]["log.record.original"] == \
        '{"level": "info", "msg": "broken json with [REDACTED:email]'


def test_rename_and_remove_change_attribute_keys(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    line = orjson.dumps({"level": "info", "msg": "hello", "uid": 7, "secret_hint": "x", "keep": True}).decode()
    paths = logs(tmp_path, "app", [line])
    config = config_for(tmp_path, kafka_bootstrap, kafka_topic, {
        "id": "app", "paths": [paths], "format": "json", "fields": {"team": "core"},
        "rename": {"uid": "user.id", "team": "owner.team"}, "remove": ["secret_hint"],
    })
    assert run_once(config) == 0
    [event] = shipped(kafka_bootstrap, kafka_topic)
    attributes = event["attributes"]
    assert attributes["user.id"] == 7 and attributes["owner.team"] == "core" and attributes["keep"] is True
    assert not {"uid", "team", "secret_hint"} & set(attributes)
    assert attributes["log.file.path"].endswith("app.log") and "log.file.record_offset" in attributes


def test_a_static_topic_per_input_and_a_templated_topic(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    web_topic = new_topic(kafka_bootstrap)
    prefix = f"routed-{uuid.uuid4().hex[:12]}"
    payments, search = f"{prefix}-svc-payments", f"{prefix}-svc-search"
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})  # the topics must exist (route.py): made here
    for future in admin.create_topics([NewTopic(payments, 1, 1), NewTopic(search, 1, 1)]).values():
        future.result(30)
    web = logs(tmp_path, "web", ["GET / 200", "GET /a 404"])
    teams = [orjson.dumps({"level": "info", "msg": f"m{i}", "team": team}).decode()
             for i, team in enumerate(["payments", "search", "payments", None])]
    routed = logs(tmp_path, "routed", teams)
    config = config_for(
        tmp_path, kafka_bootstrap, kafka_topic,
        {"id": "web", "paths": [web], "format": "plain", "topic": web_topic},
        {"id": "routed", "paths": [routed], "format": "json", "topic": prefix + "-svc-{attributes.team}"},
        {"id": "default", "paths": [logs(tmp_path, "default", ["plain one"])], "format": "plain"},
    )
    assert run_once(config) == 0
    assert sorted(e["body"] for e in shipped(kafka_bootstrap, web_topic)) == ["GET / 200", "GET /a 404"]
    assert sorted(e["body"] for e in shipped(kafka_bootstrap, payments)) == ["m0", "m2"]
    assert [e["body"] for e in shipped(kafka_bootstrap, search)] == ["m1"]
    # no team (null): kafka.topic, beside the input without a topic of its own
    assert sorted(e["body"] for e in shipped(kafka_bootstrap, kafka_topic)) == ["m3", "plain one"]


def test_dropped_and_redacted_events_are_counted_in_metrics(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    port = free_port()
    lines = ["keep mail a@example.com", "skip this one", "DEBUG drop me", "keep card 4111111111111111 and b@example.com"]
    paths = logs(tmp_path, "app", lines)
    config = config_for(tmp_path, kafka_bootstrap, kafka_topic, {
        "id": "app", "paths": [paths], "format": "plain", "include_lines": ["keep", "DEBUG"],
        "drop": [{"name": "debug", "field": "body", "matches": "^DEBUG"}],
        "redact": [{"builtin": "email"}, {"builtin": "credit_card", "name": "cards", "replacement": "****"}],
    }, shipper={"metrics_address": f"127.0.0.1:{port}"})
    with RunningShipper(config):
        wait_for_count(kafka_bootstrap, kafka_topic, 2)
        address = f"127.0.0.1:{port}"
        wait_until(lambda: value(scrape(address), "logferry_shipper_dropped_events_total", reason="debug") == 1, 30,
                   "the drop to be counted")
        families = scrape(address)
    assert value(families, "logferry_shipper_dropped_events_total", input="app", reason="include_lines") == 1
    assert value(families, "logferry_shipper_redacted_events_total", input="app", rule="email") == 2
    assert value(families, "logferry_shipper_redacted_events_total", input="app", rule="cards") == 1
    assert naming_problems(families) == []
    bodies = sorted(e["body"] for e in shipped(kafka_bootstrap, kafka_topic))
    assert bodies == ["keep card **** and [REDACTED:email]", "keep mail [REDACTED:email]"]


def test_an_unprocessed_input_keeps_the_stream_parser_itself(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    """No per-line cost for inputs without processing: their streams get the stream parser itself and no chain."""
    from shipper.delivery.producer import Delivery
    from shipper.files import Files
    from shipper.parsers.pipeline import StreamParser
    from shipper.processing.filter import FilteredParser

    config = config_for(tmp_path, kafka_bootstrap, kafka_topic,
                        {"id": "bare", "paths": [logs(tmp_path, "bare", ["x"])]},
                        {"id": "filtered", "paths": [logs(tmp_path, "filtered", ["y"])], "exclude_lines": ["z"]})
    delivery = Delivery(config.kafka, 1 << 20)
    files = Files(config, "test-host", {}, delivery)
    bare, filtered = files.processing["bare"], files.processing["filtered"]
    assert bare.chain is None and bare.topic is None and filtered.chain is None
    parser = StreamParser(config.inputs[0], _context())
    assert bare.wrap(parser, "utf-8") is parser
    assert isinstance(filtered.wrap(parser, "utf-8"), FilteredParser)


def _context() -> Any:
    from shipper.records import StreamContext

    return StreamContext("bare", "0" * 16, "bare.log", "utf-8", {"host.name": "h"}, {})
