"""Operability as a new user meets it: an unreachable broker, SIGHUP, librdkafka's own lines, /health, recovery."""

import logging
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from shipper.config import parse_config
from tests.shipper.support import (
    RunningShipper,
    assert_exactly_once,
    lines,
    shipped,
    wait_for_count,
    wait_until,
    write_lines,
)
from tests.support.health import health
from tests.support.kafka import ROOT, dedicated_broker, new_topic
from tests.support.proxy import TcpForwarder, free_port

pytestmark = pytest.mark.kafka


def _config_file(tmp_path: Path, bootstrap: str, topic: str, kafka_extra: str = "") -> Path:
    (tmp_path / "logs").mkdir(exist_ok=True)
    path = tmp_path / "shipper.toml"
    path.write_text(
        f'[shipper]\nstate_dir = "{tmp_path / "state"}"\nhost_id = "test-host"\nlog_format = "json"\n'
        f'[kafka]\nbootstrap_servers = "{bootstrap}"\ntopic = "{topic}"\n{kafka_extra}\n'
        f'[[inputs]]\nid = "app"\npaths = ["{tmp_path}/logs/*.log"]\nformat = "plain"\n'
    )
    return path


def _json_lines(stderr: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_once_with_an_unreachable_broker_fails_with_one_line_after_connect_timeout(tmp_path: Path) -> None:
    config = _config_file(tmp_path, f"127.0.0.1:{free_port()}", "unreachable", "connect_timeout = 3")
    write_lines(tmp_path / "logs" / "app.log", lines("u", 10))
    started = time.monotonic()
    # Before the fix this never ended: the timeout makes that a failure, not a hung run.
    result = subprocess.run(
        [sys.executable, "-m", "shipper", "run", "--once", "--config", str(config)],
        cwd=ROOT, capture_output=True, text=True, timeout=90,
    )
    took = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: no Kafka broker at 127.0.0.1:") and "kafka.connect_timeout" in last
    assert "Traceback" not in result.stderr
    assert took >= 3, "gave up before connect_timeout"
    # librdkafka's lines come through our logger, as JSON records, never as raw %3|...|FAIL| lines.
    assert "%3|" not in result.stderr
    client_lines = [r for r in _json_lines(result.stderr) if r["logger"] == "librdkafka"]
    assert client_lines and client_lines[0]["level"] == "error" and client_lines[0]["facility"] == "FAIL"


def test_sighup_is_logged_and_ignored_by_a_running_shipper(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    config = _config_file(tmp_path, kafka_bootstrap, kafka_topic)
    write_lines(tmp_path / "logs" / "app.log", lines("h", 20))
    stderr = tmp_path / "stderr.log"
    with open(stderr, "wb") as err:
        process = subprocess.Popen([sys.executable, "-m", "shipper", "run", "--config", str(config)], cwd=ROOT, stderr=err)
    try:
        wait_for_count(kafka_bootstrap, kafka_topic, 20)
        process.send_signal(signal.SIGHUP)
        wait_until(lambda: "SIGHUP received" in stderr.read_text(), 30, "the SIGHUP log line")
        time.sleep(1.0)
        assert process.poll() is None, "SIGHUP ended the shipper"
        write_lines(tmp_path / "logs" / "app.log", lines("after hangup", 5))
        wait_for_count(kafka_bootstrap, kafka_topic, 25)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(60)
        finally:  # a shipper that ignored SIGTERM (or a wait cut short) must not outlive the test
            if process.poll() is None:
                process.kill()
                process.wait()
    assert code == 0
    [record] = [r for r in _json_lines(stderr.read_text()) if "SIGHUP" in r["msg"]]
    assert record["level"] == "warning" and "Restart it to apply changes" in record["msg"]


def test_health_fails_while_kafka_is_unreachable_and_recovers_with_delivery_resumed(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    bootstrap_port, metrics_port = free_port(), free_port()
    (tmp_path / "logs").mkdir()
    config = parse_config({
        "shipper": {"state_dir": str(tmp_path / "state"), "host_id": "test-host", "rescan_interval": 0.2,
                    "checkpoint_interval": 0.2, "metrics_address": f"127.0.0.1:{metrics_port}"},
        "kafka": {"bootstrap_servers": f"127.0.0.1:{bootstrap_port}", "topic": kafka_topic, "linger_ms": 5},
        "health": {"delivery_stall": 2.0},
        "inputs": [{"id": "app", "paths": [str(tmp_path / "logs" / "*.log")], "format": "plain"}],
    })
    write_lines(tmp_path / "logs" / "app.log", lines("outage", 50))
    forwarder: TcpForwarder | None = None
    with RunningShipper(config) as shipper:
        try:
            wait_until(lambda: _answers(metrics_port), 30, "the metrics server")
            wait_until(lambda: health(metrics_port)[0] == 503, 60, "/health to report the outage")
            code, body = health(metrics_port)
            assert code == 503 and body["status"] == "failing"
            [problem] = body["problems"]
            assert problem["problem"] in ("kafka_unreachable", "delivery_stalled") and problem["for_s"] > 2.0
            assert problem["error"]  # librdkafka's last word: "Connect to ... refused" or "1/1 brokers are down"
            assert shipper.thread.is_alive(), "a running shipper must keep retrying"

            forwarder = TcpForwarder(bootstrap_port, kafka_bootstrap)  # the broker answers again
            wait_for_count(kafka_bootstrap, kafka_topic, 50, timeout=90)
            wait_until(lambda: health(metrics_port)[0] == 200, 30, "/health to recover")
            code, body = health(metrics_port)
            assert body["status"] == "ok" and "problems" not in body
        finally:
            if forwarder is not None:
                forwarder.stop()
    resumed = [r for r in caplog.records if r.getMessage() == "Delivery resumed."]
    assert len(resumed) == 1 and resumed[0].outage_s > 2.0


def _answers(port: int) -> bool:
    try:
        health(port, deadline=0.0)
        return True
    except OSError:
        return False



@pytest.mark.slow
def test_broker_stopped_mid_stream_fails_health_and_delivery_resumes_after_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    metrics_port = free_port()
    with dedicated_broker(tmp_path / "kafka") as broker:
        topic = new_topic(broker.bootstrap)
        (tmp_path / "logs").mkdir()
        log = tmp_path / "logs" / "app.log"
        config = parse_config({
            "shipper": {"state_dir": str(tmp_path / "state"), "host_id": "test-host", "rescan_interval": 0.2,
                        "checkpoint_interval": 0.2, "metrics_address": f"127.0.0.1:{metrics_port}"},
            "kafka": {"bootstrap_servers": broker.bootstrap, "topic": topic, "linger_ms": 5},
            "health": {"delivery_stall": 2.0},
            "inputs": [{"id": "app", "paths": [str(log)], "format": "plain"}],
        })
        first, during = lines("before", 200), lines("during", 200)
        with RunningShipper(config) as shipper:
            write_lines(log, first)
            wait_for_count(broker.bootstrap, topic, 200)
            wait_until(lambda: health(metrics_port)[0] == 200, 30, "/health ok while Kafka answers")
            broker.stop()
            write_lines(log, during)
            wait_until(lambda: health(metrics_port)[0] == 503, 90, "/health to report the outage")
            assert health(metrics_port)[1]["problems"][0]["problem"] in ("kafka_unreachable", "delivery_stalled")
            assert shipper.thread.is_alive(), "a running shipper must keep retrying"
            assert not [r for r in caplog.records if r.getMessage() == "Delivery resumed."]
            broker.start()
            wait_for_count(broker.bootstrap, topic, 400, timeout=120)
            wait_until(lambda: health(metrics_port)[0] == 200, 60, "/health to recover")
        assert_exactly_once(shipped(broker.bootstrap, topic), first + during)
    resumed = [r for r in caplog.records if r.getMessage() == "Delivery resumed."]
    assert len(resumed) == 1 and resumed[0].outage_s > 2.0


def _missing_topic() -> str:
    """A topic that does not exist; with auto-creation off in the client, the broker answers but never stores a write."""
    return f"test-missing-{uuid.uuid4().hex[:12]}"


NO_AUTO_CREATE = {"allow.auto.create.topics": False}


def test_once_gives_up_when_kafka_acknowledges_nothing_for_connect_timeout(tmp_path: Path, kafka_bootstrap: str) -> None:
    topic = _missing_topic()
    config = _config_file(
        tmp_path, kafka_bootstrap, topic, 'connect_timeout = 3\nlibrdkafka = { "allow.auto.create.topics" = false }'
    )
    write_lines(tmp_path / "logs" / "app.log", lines("unacked", 10))
    # The broker answers (the connect check passes) but the topic is missing and not created, so nothing is ever
    # acknowledged (the events are produced again and again): before the fix, --once waited for ever.
    result = subprocess.run(
        [sys.executable, "-m", "shipper", "run", "--once", "--config", str(config)],
        cwd=ROOT, capture_output=True, text=True, timeout=90,
    )
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: Kafka did not acknowledge anything for 3 s (kafka.connect_timeout)")
    assert "Traceback" not in result.stderr
    stopped = [r for r in _json_lines(result.stderr) if r["msg"].startswith("Stopping with events not acknowledged")]
    assert stopped and stopped[0]["in_flight"] == 10


def test_health_reports_unacknowledged_events_while_kafka_answers(tmp_path: Path, kafka_bootstrap: str) -> None:
    topic = _missing_topic()
    metrics_port = free_port()
    (tmp_path / "logs").mkdir()
    config = parse_config({
        "shipper": {"state_dir": str(tmp_path / "state"), "host_id": "test-host", "rescan_interval": 0.2,
                    "metrics_address": f"127.0.0.1:{metrics_port}"},
        "kafka": {"bootstrap_servers": kafka_bootstrap, "topic": topic, "linger_ms": 5, "librdkafka": NO_AUTO_CREATE},
        "health": {"delivery_stall": 2.0},
        "inputs": [{"id": "app", "paths": [str(tmp_path / "logs" / "*.log")], "format": "plain"}],
    })
    with RunningShipper(config) as shipper:
        wait_until(lambda: _answers(metrics_port), 30, "the metrics server")
        assert health(metrics_port)[0] == 200  # nothing waits yet
        write_lines(tmp_path / "logs" / "app.log", lines("unacked", 10))
        wait_until(lambda: health(metrics_port)[0] == 503, 60, "/health to report the stall")
        [problem] = health(metrics_port)[1]["problems"]
        assert problem["problem"] == "delivery_stalled" and problem["for_s"] > 2.0
        assert shipper.thread.is_alive(), "a running shipper never gives up"
