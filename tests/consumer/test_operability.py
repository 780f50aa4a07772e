"""The consumer as a new user meets it: an unreachable broker, SIGHUP, librdkafka's own lines, /health, recovery."""

import signal
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.consumer.helpers import indexed_ids, make_events, produce, run_consumer, sqlite_config, start_consumer, wait_for
from tests.support.health import health
from tests.support.kafka import dedicated_broker, new_topic
from tests.support.proxy import TcpForwarder, free_port

pytestmark = pytest.mark.kafka


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_once_with_an_unreachable_broker_fails_with_one_line_after_connect_timeout(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    config = sqlite_config(db, f"127.0.0.1:{free_port()}", "unreachable", "unreachable", kafka_extra="connect_timeout = 3")
    started = time.monotonic()
    result = run_consumer("run", "--once", "--config", str(config), timeout=90)
    took = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("run failed: no Kafka broker at 127.0.0.1:") and "kafka.connect_timeout" in last
    assert "Traceback" not in result.stderr
    assert took >= 3, "gave up before connect_timeout"
    # Every client's librdkafka lines (the dead-letter admin client's too) come through our logger.
    assert "%3|" not in result.stderr
    client_lines = [r for r in _json_lines(result.stderr) if r["logger"] == "librdkafka"]
    assert client_lines and client_lines[0]["level"] == "error" and client_lines[0]["facility"] == "FAIL"


def test_sighup_is_logged_and_ignored(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    db = tmp_path / "logs.db"
    config = sqlite_config(db, kafka_bootstrap, kafka_topic, f"hup-{kafka_topic}")
    events = make_events(20)
    produce(kafka_bootstrap, kafka_topic, events)
    log = tmp_path / "consumer.log"
    worker = start_consumer("run", "--config", str(config), log=log)
    try:
        wait_for(lambda: _count(db) == 20, 60, "the events indexed")
        worker.send_signal(signal.SIGHUP)
        wait_for(lambda: "SIGHUP received" in log.read_text(), 30, "the SIGHUP log line")
        time.sleep(1.0)
        assert worker.poll() is None, "SIGHUP ended the consumer"
        more = make_events(5, start=20)
        produce(kafka_bootstrap, kafka_topic, more)
        wait_for(lambda: _count(db) == 25, 60, "the events after SIGHUP indexed")
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(60)
    assert code == 0
    [record] = [r for r in _json_lines(log.read_text()) if "SIGHUP" in r["msg"]]
    assert record["level"] == "warning"


def test_health_fails_while_kafka_is_unreachable_and_recovers(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    bootstrap_port, metrics_port = free_port(), free_port()
    events = make_events(30)
    produce(kafka_bootstrap, kafka_topic, events)
    db = tmp_path / "logs.db"
    config = sqlite_config(
        db, f"127.0.0.1:{bootstrap_port}", kafka_topic, f"health-{kafka_topic}",
        extra=f'metrics_address = "127.0.0.1:{metrics_port}"',
    )
    config.write_text(config.read_text() + "\n[health]\ndelivery_stall = 2.0\n")
    log = tmp_path / "consumer.log"
    worker = start_consumer("run", "--config", str(config), log=log)
    forwarder: TcpForwarder | None = None
    try:
        wait_for(lambda: health(metrics_port)[0] == 503, 60, "/health to report the outage")
        code, body = health(metrics_port)
        [problem] = body["problems"]
        assert problem["problem"] == "kafka_unreachable" and problem["for_s"] > 2.0
        assert worker.poll() is None, "a running consumer must keep retrying"

        forwarder = TcpForwarder(bootstrap_port, kafka_bootstrap)
        wait_for(lambda: _count(db) == 30, 90, "the events indexed once Kafka answers")
        wait_for(lambda: health(metrics_port)[0] == 200, 30, "/health to recover")
        assert health(metrics_port)[1]["status"] == "ok"
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(60)
        if forwarder is not None:
            forwarder.stop()
    assert code == 0
    assert sorted(indexed_ids(db)) == sorted(str(e["event_id"]) for e in events)
    resumed = [r for r in _json_lines(log.read_text()) if r["msg"] == "Kafka answers again; consumption resumed."]
    assert len(resumed) == 1 and resumed[0]["outage_s"] > 2.0


def _count(db: Path) -> int:
    import sqlite3

    try:
        with sqlite3.connect(db, timeout=30) as connection:
            return int(connection.execute("SELECT count(*) FROM events").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
def test_broker_stopped_under_a_running_consumer_fails_health_and_consumption_resumes(tmp_path: Path) -> None:
    metrics_port = free_port()
    with dedicated_broker(tmp_path / "kafka") as broker:
        topic = new_topic(broker.bootstrap)
        db = tmp_path / "logs.db"
        config = sqlite_config(
            db, broker.bootstrap, topic, f"outage-{topic}", extra=f'metrics_address = "127.0.0.1:{metrics_port}"'
        )
        config.write_text(config.read_text() + "\n[health]\ndelivery_stall = 2.0\n")
        first, second = make_events(100), make_events(100, start=100)
        produce(broker.bootstrap, topic, first)
        log = tmp_path / "consumer.log"
        worker = start_consumer("run", "--config", str(config), log=log)
        try:
            wait_for(lambda: _count(db) == 100, 60, "the first events indexed")
            assert health(metrics_port)[0] == 200
            broker.stop()
            wait_for(lambda: health(metrics_port)[0] == 503, 90, "/health to report the outage")
            assert health(metrics_port)[1]["problems"][0]["problem"] == "kafka_unreachable"
            assert worker.poll() is None, "a running consumer must keep retrying"
            broker.start()
            produce(broker.bootstrap, topic, second)
            wait_for(lambda: _count(db) == 200, 120, "every event indexed after the restart")
            wait_for(lambda: health(metrics_port)[0] == 200, 60, "/health to recover")
        except AssertionError:
            print("consumer log, last 60 lines:\n" + "\n".join(log.read_text().splitlines()[-60:]))
            raise
        finally:
            worker.send_signal(signal.SIGTERM)
            code = worker.wait(90)
    assert code == 0
    assert sorted(indexed_ids(db)) == sorted(str(e["event_id"]) for e in first + second)
    resumed = [r for r in _json_lines(log.read_text()) if r["msg"] == "Kafka answers again; consumption resumed."]
    assert len(resumed) == 1 and resumed[0]["outage_s"] > 2.0
