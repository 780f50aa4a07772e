"""Issue 14, "Metrics and status that mislead": the two hand-written exporters disagreed about /health (the shipper's
said `stalled` or `ok` in text, the consumer's always `ok`). A real shipper and a real consumer worker, both running
processes, are asked side by side: with a real broker both answer 200 with the same JSON; with no broker at their
bootstrap address both answer 503 with the same problem in the same shape."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.consumer.helpers import ROOT, make_events, produce, sqlite_config, start_consumer, wait_for
from tests.support.health import health
from tests.support.proxy import free_port

pytestmark = pytest.mark.kafka


@pytest.fixture
def shippers() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
            process.wait()


def start_pair(tmp_path: Path, bootstrap: str, topic: str, shippers: list[subprocess.Popen[bytes]]) -> tuple[int, int]:
    """A shipper and a consumer worker on `bootstrap`, each serving /health on a port of its own: (shipper, consumer)."""
    shipper_port, consumer_port = free_port(), free_port()
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "app.log").write_text("")  # nothing to deliver: an outage is Kafka unreachable, no stall
    config = tmp_path / "shipper.toml"
    config.write_text(
        f'[shipper]\nstate_dir = "{tmp_path / "state"}"\nhost_id = "test-host"\nrescan_interval = 0.2\n'
        f'log_format = "json"\nmetrics_address = "127.0.0.1:{shipper_port}"\n'
        f'[kafka]\nbootstrap_servers = "{bootstrap}"\ntopic = "{topic}"\nlinger_ms = 5\n'
        f'[health]\ndelivery_stall = 2.0\n'
        f'[[inputs]]\nid = "app"\npaths = ["{tmp_path}/logs/*.log"]\nformat = "plain"\n'
    )
    with open(tmp_path / "shipper.log", "ab") as log:
        shippers.append(subprocess.Popen([sys.executable, "-m", "shipper", "run", "--config", str(config)], cwd=ROOT,
                                         stdout=log, stderr=log, env={**os.environ, "PYTHONUNBUFFERED": "1"}))
    db = tmp_path / "index" / "logs.db"
    db.parent.mkdir()
    consumer_config = sqlite_config(db, bootstrap, topic, f"health-{topic}",
                                    extra=f'metrics_address = "127.0.0.1:{consumer_port}"')
    consumer_config.write_text(consumer_config.read_text() + "\n[health]\ndelivery_stall = 2.0\n")
    start_consumer("run", "--config", str(consumer_config), log=tmp_path / "consumer.log")
    return shipper_port, consumer_port


def shape(body: dict[str, Any]) -> dict[str, Any]:
    """The keys of a /health body and of each problem, with the problems' names."""
    return {"keys": sorted(body), "problems": sorted((p["problem"], tuple(sorted(p))) for p in body.get("problems", []))}


def test_both_programs_answer_health_alike_with_the_broker_up(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, shippers: list[subprocess.Popen[bytes]]
) -> None:
    produce(kafka_bootstrap, kafka_topic, make_events(5))
    shipper_port, consumer_port = start_pair(tmp_path, kafka_bootstrap, kafka_topic, shippers)
    wait_for(lambda: health(shipper_port)[0] == 200 and health(consumer_port)[0] == 200, 60, "both to be healthy")
    (shipper_code, shipper_body), (consumer_code, consumer_body) = health(shipper_port), health(consumer_port)
    assert shipper_code == consumer_code == 200
    assert shipper_body["status"] == consumer_body["status"] == "ok"
    assert shape(shipper_body) == shape(consumer_body)


def test_both_programs_fail_health_alike_with_no_broker(
    tmp_path: Path, kafka_topic: str, shippers: list[subprocess.Popen[bytes]]
) -> None:
    nowhere = f"127.0.0.1:{free_port()}"  # nothing listens: every connection is refused
    shipper_port, consumer_port = start_pair(tmp_path, nowhere, kafka_topic, shippers)
    wait_for(lambda: health(shipper_port)[0] == 503 and health(consumer_port)[0] == 503, 90, "both to report the outage")
    (_, shipper_body), (_, consumer_body) = health(shipper_port), health(consumer_port)
    assert shipper_body["status"] == consumer_body["status"] == "failing"
    assert [p["problem"] for p in shipper_body["problems"]] == [p["problem"] for p in consumer_body["problems"]] == [
        "kafka_unreachable"]
    assert shape(shipper_body) == shape(consumer_body)
    assert all(p["for_s"] > 2.0 for p in shipper_body["problems"] + consumer_body["problems"])
