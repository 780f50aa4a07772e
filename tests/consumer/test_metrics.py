"""The consumer's /metrics as an operator's dashboard reads it: the lag right from the first scrape after a restart,
and a taken metrics address named in one line."""

import socket
import time
from pathlib import Path

import orjson
import pytest

from tests.consumer.helpers import make_events, produce, run_consumer, sqlite_config, start_consumer, wait_for
from tests.support.health import health
from tests.support.metrics import scrape, total, value

pytestmark = pytest.mark.kafka


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def lags(address: str, topic: str) -> dict[int, float]:
    """logferry_consumer_lag_records per partition of `topic` (only the partitions the worker has assigned)."""
    found = {}
    for family in scrape(address):
        for sample in family.samples:
            if sample.name == "logferry_consumer_lag_records" and sample.labels.get("topic") == topic:
                found[int(sample.labels["partition"])] = float(sample.value)
    return found


def status(config: Path) -> dict[str, object]:
    result = run_consumer("status", "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    answer: dict[str, object] = orjson.loads(result.stdout)
    return answer


def test_the_lag_after_a_restart_on_a_quiet_topic_is_what_status_says(
    kafka_bootstrap: str, kafka_topic: str, db_path: Path, tmp_path: Path
) -> None:
    address = f"127.0.0.1:{free_port()}"
    db_path.parent.mkdir(parents=True)
    config = sqlite_config(db_path, kafka_bootstrap, kafka_topic, f"lag-{kafka_topic}", extra=f'metrics_address = "{address}"')
    produce(kafka_bootstrap, kafka_topic, make_events(5))
    first = start_consumer("run", "--config", str(config), log=tmp_path / "first.log")
    wait_for(lambda: value(scrape(address), "logferry_consumer_indexed_events_total") == 5, 60, "the events indexed")
    first.terminate()
    assert first.wait(60) == 0
    assert status(config)["total_lag"] == 0

    # Nothing arrives after the restart: the worker never learns a position, yet it resumes at the stored offsets.
    second = start_consumer("run", "--config", str(config), log=tmp_path / "second.log")
    try:
        wait_for(lambda: len(lags(address, kafka_topic)) == 3, 60, "the lag of every assigned partition")
        seen = lags(address, kafka_topic)
        assert seen == {0: 0.0, 1: 0.0, 2: 0.0}, f"lag after the restart: {seen}"
        time.sleep(1.5)  # a later update (LAG_INTERVAL) says the same
        assert total(scrape(address), "logferry_consumer_lag_records") == status(config)["total_lag"] == 0
    finally:
        second.terminate()
        assert second.wait(60) == 0


def test_a_second_consumer_on_the_same_metrics_address_exits_naming_it(
    kafka_bootstrap: str, kafka_topic: str, db_path: Path, tmp_path: Path
) -> None:
    port = free_port()
    address = f"127.0.0.1:{port}"
    db_path.parent.mkdir(parents=True)
    config = sqlite_config(db_path, kafka_bootstrap, kafka_topic, f"bind-{kafka_topic}", extra=f'metrics_address = "{address}"')
    first = start_consumer("run", "--config", str(config), log=tmp_path / "first.log")
    try:
        assert health(port, deadline=60)[0] == 200
        second = run_consumer("run", "--config", str(config), timeout=60)
        assert second.returncode == 1
        assert second.stderr.strip().splitlines() == [f"run failed: cannot serve metrics on {address}: address already in use"]
        assert first.poll() is None  # the first worker goes on serving
        assert health(port)[0] == 200
    finally:
        first.terminate()
        assert first.wait(60) == 0
