"""The webhook receiver against a real HTTP server: the versioned payload as documented (checked against its JSON
Schema), a stable Idempotency-Key across retries, 429 and 5xx retried, another 4xx given up, the metrics."""

import time
from pathlib import Path
from typing import Any

import jsonschema
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from consumer.alerting.model import AlertState
from consumer.alerting.notify import Notifier, NotifyMetrics, OutboxDelivery
from consumer.alerting.notify.delivery import connect
from tests.support.metrics import naming_problems
from tests.support.notify import T0, alert, due, observe, outbox, settings, state_db, webhook_server
from tests.support.polling import poll_until
from tests.support.webhook import WebhookServer

__all__ = ["webhook_server"]

START = T0 - 3600

_TIME = {"type": ["string", "null"], "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"}
# The payload as consumer/alerting/notify/README.md documents it ("Webhook payload", version 1).
PAYLOAD_V1: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "id", "receiver", "status", "sequence", "created_at", "group", "alerts", "truncated_alerts"],
    "properties": {
        "version": {"const": "1"},
        "id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        "receiver": {"type": "string"},
        "status": {"enum": ["firing", "resolved"]},
        "sequence": {"type": "integer", "minimum": 1},
        "created_at": _TIME | {"type": "string"},
        "group": {"type": "object", "additionalProperties": False, "required": ["labels", "key"],
                  "properties": {"labels": {"type": "object", "additionalProperties": {"type": "string"}},
                                 "key": {"type": "string"}}},
        "truncated_alerts": {"type": "integer", "minimum": 0},
        "alerts": {"type": "array", "minItems": 1, "items": {
            "type": "object", "additionalProperties": False,
            "required": ["fingerprint", "rule", "group", "state", "severity", "labels", "annotations", "summary",
                         "started_at", "fired_at", "resolved_at", "count", "late", "samples", "search", "search_url", "new"],
            "properties": {
                "fingerprint": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                "rule": {"type": "string"}, "group": {"type": "string"},
                "state": {"enum": ["firing", "resolved"]}, "severity": {"enum": ["info", "warning", "critical"]},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
                "summary": {"type": "string"}, "started_at": _TIME | {"type": "string"}, "fired_at": _TIME,
                "resolved_at": _TIME, "count": {"type": "integer"}, "late": {"type": "boolean"},
                "samples": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
                "search": {"type": "string"}, "search_url": {"type": "string"}, "new": {"type": "boolean"},
            }}},
    },
}


def hook(server: WebhookServer, **extra: object) -> dict[str, object]:
    return {"type": "webhook", "name": "ops-hook", "url": server.url, "retry_initial": "100ms", "retry_max": "300ms",
            "console_url": "https://logs.example.test", **extra}


def queue(path: Path, receiver: dict[str, object], now: float, *alerts_: Any) -> None:
    config = settings([receiver], [{"receiver": "ops-hook", "group_by": ["service"], "group_wait": "0s",
                                    "group_interval": "1s", "repeat_interval": "24h"}])
    notifier, db = Notifier(config), state_db(path)
    observe(notifier, db, now, *alerts_)
    due(notifier, db, now)
    db.close()


def test_the_payload_is_the_documented_version_1(tmp_path: Path, webhook_server: WebhookServer) -> None:
    receiver = hook(webhook_server)
    path = tmp_path / "s.db"
    queue(path, receiver, START, alert("billing-errors"), alert("billing-latency", late=True))
    queue(path, receiver, START + 10, alert("billing-errors", AlertState.RESOLVED))
    delivery = OutboxDelivery(path, settings([receiver]))
    assert delivery.deliver_once(connect(path)) == 2
    first, second = webhook_server.received()
    for request in (first, second):
        jsonschema.validate(request.body, PAYLOAD_V1)
        assert request.headers["content-type"] == "application/json"
        assert request.path == "/hook"
    assert first.body["status"] == "firing" and first.body["group"] == {"labels": {"service": "billing"},
                                                                         "key": "service=billing"}
    latency = next(a for a in first.body["alerts"] if a["rule"] == "billing-latency")
    assert latency["late"] is True
    assert latency["search_url"] == ("https://logs.example.test/?q=service%3Abilling+level%3Aerror"
                                     "&since=2030-01-15T08%3A00%3A00Z")
    assert second.body["sequence"] == 2
    assert {a["rule"]: a["new"] for a in first.body["alerts"]} == {"billing-errors": True, "billing-latency": True}
    assert {a["rule"]: a["new"] for a in second.body["alerts"]} == {"billing-errors": False, "billing-latency": False}
    assert sorted((a["rule"], a["state"]) for a in second.body["alerts"]) == [
        ("billing-errors", "resolved"), ("billing-latency", "firing")]
    assert [r.headers["idempotency-key"] for r in (first, second)] == [r["notification_id"] for r in outbox(state_db(path))]


def test_429_and_5xx_are_retried_with_the_same_idempotency_key_and_4xx_is_given_up(
        tmp_path: Path, webhook_server: WebhookServer) -> None:
    registry = CollectorRegistry()
    metrics = NotifyMetrics(registry)
    receiver = hook(webhook_server)
    path = tmp_path / "s.db"
    queue(path, receiver, START, alert("billing-errors"))
    webhook_server.answer(503, 429)
    delivery = OutboxDelivery(path, settings([receiver]), metrics)
    delivery.start()
    try:
        poll_until(lambda: metrics.sent["ops-hook"], lambda sent: sent == 1, deadline=20, what="the third try to pass")
    finally:
        assert delivery.stop(timeout=30)
    requests = webhook_server.received()
    assert len(requests) == 3
    assert len({r.headers["idempotency-key"] for r in requests}) == 1
    assert outbox(state_db(path))[0]["attempts"] == 3

    webhook_server.answer(400)
    queue(path, receiver, time.time(), alert("search-errors", group=(("service", "search"),)))
    assert OutboxDelivery(path, settings([receiver]), metrics).deliver_once(connect(path), now=time.time() + 1) == 0
    given_up = outbox(state_db(path))[-1]
    assert given_up["status"] == "given_up" and "400" in given_up["last_error"]
    text = generate_latest(registry).decode()
    assert 'logferry_evaluator_sent_notifications_total{receiver="ops-hook"} 1.0' in text
    assert 'logferry_evaluator_failed_notifications_total{receiver="ops-hook"} 3.0' in text
    assert 'logferry_evaluator_given_up_notifications_total{receiver="ops-hook"} 1.0' in text
    assert "logferry_evaluator_outbox_notifications 0.0" in text


def test_a_bearer_token_from_the_environment_is_sent(tmp_path: Path, webhook_server: WebhookServer,
                                                    monkeypatch: Any) -> None:
    monkeypatch.setenv("LOGFERRY_TEST_HOOK_TOKEN", "t0ken")
    receiver = hook(webhook_server, bearer_token_env="LOGFERRY_TEST_HOOK_TOKEN")
    path = tmp_path / "s.db"
    queue(path, receiver, START, alert("billing-errors"))
    assert OutboxDelivery(path, settings([receiver])).deliver_once(connect(path)) == 1
    assert webhook_server.received()[0].headers["authorization"] == "Bearer t0ken"


def test_the_metrics_follow_the_naming_conventions(tmp_path: Path, webhook_server: WebhookServer) -> None:
    registry = CollectorRegistry()
    metrics = NotifyMetrics(registry)
    receiver = hook(webhook_server)
    path = tmp_path / "s.db"
    queue(path, receiver, START, alert("billing-errors"))
    webhook_server.answer(500)
    delivery = OutboxDelivery(path, settings([receiver]), metrics)
    delivery.deliver_once(connect(path))
    delivery.deliver_once(connect(path), now=time.time() + 5)
    metrics.suppressed["silenced"] += 1
    metrics.given_up["ops-hook"] += 0
    families = [f for f in text_string_to_metric_families(generate_latest(registry).decode())
                if f.name.startswith("logferry_")]
    assert {f.name for f in families} == {
        "logferry_evaluator_sent_notifications", "logferry_evaluator_failed_notifications",
        "logferry_evaluator_given_up_notifications", "logferry_evaluator_suppressed_notifications",
        "logferry_evaluator_delayed_notifications", "logferry_evaluator_outbox_notifications"}
    assert naming_problems(families) == []
    assert 'logferry_evaluator_sent_notifications_total{receiver="ops-hook"} 1.0' in generate_latest(registry).decode()


def test_a_notification_whose_receiver_left_the_config_is_given_up_and_counted(tmp_path: Path,
                                                                              webhook_server: WebhookServer) -> None:
    path = tmp_path / "s.db"
    queue(path, hook(webhook_server), START, alert("billing-errors"))
    metrics = NotifyMetrics()
    other = hook(webhook_server, name="another")
    delivery = OutboxDelivery(path, settings([other], [{"receiver": "another"}]), metrics)
    assert delivery.deliver_once(connect(path)) == 0
    (row,) = outbox(state_db(path))
    assert row["status"] == "given_up" and "no longer in the config" in row["last_error"]
    assert metrics.given_up["ops-hook"] == 1
    assert webhook_server.received() == []


def test_a_receiver_that_is_down_does_not_hold_up_another(tmp_path: Path, webhook_server: WebhookServer) -> None:
    """Sixty notifications wait for a receiver that refuses connections; one for a working receiver, queued after
    them, goes out in the first round all the same."""
    down = {"type": "webhook", "name": "down", "url": "http://127.0.0.1:9/hook", "retry_initial": "1h", "retry_max": "1h"}
    up = hook(webhook_server)
    config = settings([down, up], [{"receiver": "ops-hook", "labels": {"service": "s-up"}, "group_wait": "0s"},
                                   {"receiver": "down", "group_by": ["service"], "group_wait": "0s"}])
    path = tmp_path / "s.db"
    notifier, db = Notifier(config), state_db(path)
    observe(notifier, db, START, *(alert(f"errors-{n}", group=(("service", f"s{n}"),)) for n in range(60)))
    observe(notifier, db, START, alert("errors-up", group=(("service", "s-up"),)))
    assert due(notifier, db, START) == 61
    delivery = OutboxDelivery(path, config)
    assert delivery.deliver_once(connect(path)) == 0, "the first round meets the down receiver's rows first"
    assert delivery.deliver_once(connect(path)) == 1
    assert [r.body["alerts"][0]["rule"] for r in webhook_server.received()] == ["errors-up"]
    rows = outbox(db)
    assert [r["attempts"] for r in rows if r["receiver"] == "down"] == [1] + [0] * 59, "tried once, the rest wait"
