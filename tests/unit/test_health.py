"""logferry.health: the Kafka link's state machine, the /health verdict, and librdkafka's lines in our logger."""

import logging
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from confluent_kafka import KafkaError

from consumer.metrics import Metrics, health
from logferry.errors import ConfigError
from logferry.exporter import Exporter, registry
from logferry.health import HealthSettings, KafkaWatch, Problem, assess
from logferry.kafka import ClientLog, await_kafka
from logferry.logs import RepeatedClientLines
from shipper.config import parse_config
from shipper.metrics import shipper_health
from tests.support.proxy import free_port

DOWN = KafkaError(KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down")


def test_waiting_events_with_no_acknowledgement_stall_only_after_the_bound() -> None:
    watch = KafkaWatch()
    watch.waiting(100.0)
    assert watch.failure(150.0, 60.0) is None
    failure = watch.failure(161.0, 60.0)
    assert failure is not None and failure.problem is Problem.DELIVERY_STALLED and failure.since == 100.0
    # An acknowledgement with more still in flight restarts the wait; with nothing left, nothing waits.
    # No error was reported: a slow acknowledgement, not an outage that ends (no "resumed" line).
    assert watch.answered(170.0, still_waiting=True) is None
    assert watch.failure(200.0, 60.0) is None
    assert watch.answered(201.0, still_waiting=False) is None
    assert watch.waiting_since is None


def test_unreachable_brokers_fail_after_the_bound_and_the_outage_length_is_reported_once() -> None:
    watch = KafkaWatch()
    watch.unreachable(10.0, DOWN)
    watch.unreachable(20.0, DOWN)  # repeated reports do not move the start
    failure = watch.failure(71.0, 60.0)
    assert failure is not None and failure.problem is Problem.KAFKA_UNREACHABLE and failure.error == DOWN.str()
    assert watch.suspect  # nothing waits: only a probe can see it come back
    assert watch.reachable(80.0) == 70.0
    assert watch.reachable(81.0) is None
    assert watch.failure(200.0, 60.0) is None


def test_a_probe_does_not_end_an_outage_while_events_wait() -> None:
    watch = KafkaWatch()
    watch.waiting(0.0)
    watch.unreachable(1.0, DOWN)
    assert not watch.suspect
    assert watch.reachable(5.0) is None  # the events are still unacknowledged
    assert watch.answered(9.0, still_waiting=False) == 9.0  # from the first wait, the earlier of the two


def test_assess_is_ok_or_names_each_problem() -> None:
    settings = HealthSettings(delivery_stall=60.0, loop_stall=30.0)
    code, body = assess(1000.0, settings, 999.0, [None])
    assert code == 200 and orjson.loads(body)["status"] == "ok"
    watch = KafkaWatch()
    watch.unreachable(900.0, DOWN)
    code, body = assess(1000.0, settings, 960.0, [watch.failure(1000.0, 60.0)])
    answer = orjson.loads(body)
    assert code == 503 and answer["status"] == "failing"
    assert [p["problem"] for p in answer["problems"]] == ["kafka_unreachable", "loop_stalled"]
    assert answer["problems"][0]["for_s"] == 100.0 and answer["problems"][0]["error"] == DOWN.str()


def test_health_settings_are_a_table_of_both_configs() -> None:
    base = {"inputs": [{"id": "a", "paths": ["/tmp/*.log"]}]}
    assert parse_config(base).health.delivery_stall == 60.0
    assert parse_config({**base, "health": {"delivery_stall": 5}}).health.delivery_stall == 5.0
    with pytest.raises(ConfigError, match=r"health\.delivery_stall"):
        parse_config({**base, "health": {"delivery_stall": 0}})
    with pytest.raises(ConfigError, match=r"kafka\.connect_timeout"):
        parse_config({**base, "kafka": {"connect_timeout": -1}})


@dataclass
class CheckpointFailure:
    since: float
    error: str


def test_the_shipper_health_reports_failing_checkpoints_at_once() -> None:
    import time

    port = free_port()
    failing: list[CheckpointFailure] = []
    verdict = shipper_health(HealthSettings(), time.monotonic, None, lambda: failing[0] if failing else None)
    server = Exporter(f"127.0.0.1:{port}", registry("shipper"), verdict.answer)
    server.start()
    try:
        assert _get(port) == (200, {"status": "ok", "last_turn_s": pytest.approx(0, abs=5)})
        failing.append(CheckpointFailure(time.monotonic(), "[Errno 28] No space left on device"))
        code, body = _get(port)
        assert code == 503
        assert body["problems"][0]["problem"] == "checkpoints_failing" and "No space" in body["problems"][0]["error"]
    finally:
        server.stop()


def test_the_consumer_health_fails_when_writes_fail_longer_than_the_bound() -> None:
    metrics = Metrics()
    settings = HealthSettings(delivery_stall=60.0)
    metrics.flush_failures += 1
    since = metrics.failing_since
    assert since is not None
    metrics.flush_failures += 1  # a run of failures keeps its start
    assert metrics.failing_since == since
    metrics.last_turn = since + 30
    assert health(metrics, settings, since + 30)[0] == 200
    metrics.last_turn = since + 61
    code, body = health(metrics, settings, since + 61)
    assert code == 503 and orjson.loads(body)["problems"][0]["problem"] == "writes_failing"
    metrics.observe_batch(0.1)
    assert health(metrics, settings, since + 62)[0] == 200


def _get(port: int) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
            return response.status, orjson.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, orjson.loads(error.read())


def test_client_lines_become_records_and_repeats_are_thinned() -> None:
    logger = logging.getLogger("librdkafka")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    handler.addFilter(RepeatedClientLines(interval=30.0))
    logger.addHandler(handler)
    try:
        client = ClientLog()
        for delay in (0, 312, 1000):  # the same failure, differing only in its timings
            client.log(40, "%s [%s] %s", "FAIL", "rdkafka#producer-1", f"Connect failed (after {delay}ms)")
        client.log(30, "%s [%s] %s", "REQTMOUT", "rdkafka#producer-1", "Timed out 1 in-flight request")
    finally:
        logger.removeHandler(handler)
    assert [(r.levelno, r.facility) for r in records] == [(40, "FAIL"), (30, "REQTMOUT")]
    assert records[0].getMessage() == "The Kafka client logged a line."


def test_await_kafka_gives_up_after_the_timeout_and_honours_a_stop() -> None:
    def never(timeout: float) -> object:
        raise OSError("connection refused")

    failure = await_kafka("127.0.0.1:1", never, 0.3, lambda: False, detail=lambda: "Connect to 127.0.0.1:1 failed")
    assert failure is not None and "within 0.3 s (kafka.connect_timeout): Connect to 127.0.0.1:1 failed" in failure
    stop = threading.Event()
    stop.set()
    assert await_kafka("127.0.0.1:1", never, 60.0, stop.is_set) is None
    assert await_kafka("127.0.0.1:1", lambda timeout: None, 60.0, lambda: False) is None
