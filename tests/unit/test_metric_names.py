"""Every metric both programs serve follows Prometheus' conventions (tests/support/metrics.py has the rules): scraped
from a running shipper and a running consumer and read with prometheus_client's own text parser."""

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from consumer.metrics import Metrics
from tests.consumer.helpers import sqlite_config, start_consumer, stop_started, wait_for
from tests.shipper.support import lines, write_lines
from tests.support.kafka import ROOT
from tests.support.metrics import naming_problems, scrape, value

OLD_NAMES = """\
# HELP logferry_shipper_bytes_read_total Bytes read from files.
# TYPE logferry_shipper_bytes_read_total counter
logferry_shipper_bytes_read_total 10
# HELP logferry_shipper_bytes_behind Bytes of a file not yet acknowledged.
# TYPE logferry_shipper_bytes_behind gauge
logferry_shipper_bytes_behind{path="/var/log/app.log"} 3
# HELP logferry_consumer_lag Records behind the end of each assigned partition.
# TYPE logferry_consumer_lag gauge
logferry_consumer_lag{topic="logs",partition="0"} 4
# HELP logferry_consumer_queue_total Not a counter.
# TYPE logferry_consumer_queue_total gauge
logferry_consumer_queue_total 1
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """The programs a test starts; killed after it, whatever happened."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
            process.wait()
        stop_started()


def test_the_rules_refuse_the_names_operators_complained_about() -> None:
    found = naming_problems(list(text_string_to_metric_families(OLD_NAMES)))
    assert "logferry_shipper_bytes_read does not end with a unit" in " ".join(found)  # bytes_read, not read_bytes
    assert any("logferry_shipper_bytes_behind: label 'path' is not one of the bounded labels" in f for f in found)
    assert any("label path='/var/log/app.log' is a path" in f for f in found)
    assert any(f.startswith("logferry_consumer_lag does not end with a unit") for f in found)
    assert any(f.startswith("logferry_consumer_queue_total (gauge): _total belongs to counters") for f in found)


def test_the_consumer_registry_follows_the_rules_and_is_its_own() -> None:
    first, second = Metrics(), Metrics()
    first.lag = {("logs", 0): 4}
    first.observe_batch(0.2)
    families = list(text_string_to_metric_families(generate_latest(first.registry).decode()))
    assert naming_problems(families) == []
    assert value(families, "logferry_consumer_lag_records", topic="logs", partition="0") == 4
    assert value(families, "logferry_build_info", program="consumer") == 1
    assert value(families, "process_cpu_seconds_total") is not None
    # A registry per process object: nothing leaks from one to the other through a global registry.
    other = list(text_string_to_metric_families(generate_latest(second.registry).decode()))
    assert value(other, "logferry_consumer_batch_seconds_count") == 0
    assert value(other, "logferry_consumer_lag_records") is None


@pytest.mark.kafka
def test_a_running_shipper_and_consumer_serve_conventional_names_and_no_path(
    kafka_bootstrap: str, kafka_topic: str, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    write_lines(logs / "app.log", lines("m", 40))
    write_lines(logs / "other.log", lines("o", 10))
    shipper_address, consumer_address = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    shipper_config = tmp_path / "shipper.toml"
    shipper_config.write_text(
        f'[shipper]\nstate_dir = "{tmp_path / "state"}"\nhost_id = "test-host"\nrescan_interval = 0.2\n'
        f'log_format = "json"\nmetrics_address = "{shipper_address}"\n'
        f'[kafka]\nbootstrap_servers = "{kafka_bootstrap}"\ntopic = "{kafka_topic}"\nlinger_ms = 5\n'
        f'[[inputs]]\nid = "app"\npaths = ["{logs}/*.log"]\nformat = "plain"\n'
    )
    with open(tmp_path / "shipper.log", "ab") as log:
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "shipper", "run", "--config", str(shipper_config)], cwd=ROOT,
            stdout=log, stderr=log, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        ))
    wait_for(lambda: value(scrape(shipper_address), "logferry_shipper_read_lines_total") == 50, 60, "the lines read")
    shipped = scrape(shipper_address)
    assert naming_problems(shipped) == []
    assert value(shipped, "logferry_shipper_read_bytes_total") == sum(p.stat().st_size for p in logs.iterdir())
    assert value(shipped, "logferry_shipper_behind_bytes", input="app") is not None  # by input, not by path
    assert value(shipped, "logferry_build_info", program="shipper") == 1
    assert value(shipped, "process_resident_memory_bytes")

    db = tmp_path / "index" / "events.db"
    db.parent.mkdir()
    consumer_config = sqlite_config(db, kafka_bootstrap, kafka_topic, f"names-{kafka_topic}",
                                    extra=f'metrics_address = "{consumer_address}"')
    start_consumer("run", "--config", str(consumer_config), log=tmp_path / "consumer.log")
    wait_for(lambda: value(scrape(consumer_address), "logferry_consumer_indexed_events_total") == 50, 60, "the events indexed")
    consumed = scrape(consumer_address)
    assert naming_problems(consumed) == []
    assert value(consumed, "logferry_consumer_consumed_records_total") == 50
    assert value(consumed, "logferry_consumer_batch_seconds_count")
    assert value(consumed, "logferry_build_info", program="consumer") == 1


def test_a_shipper_whose_metrics_address_is_taken_exits_naming_it(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        config = tmp_path / "shipper.toml"
        config.write_text(
            f'[shipper]\nstate_dir = "{tmp_path / "state"}"\nmetrics_address = "{address}"\n'
            f'[kafka]\nbootstrap_servers = "127.0.0.1:1"\ntopic = "unused"\n'
            f'[[inputs]]\nid = "app"\npaths = ["{tmp_path}/*.log"]\n'
        )
        result = subprocess.run([sys.executable, "-m", "shipper", "run", "--config", str(config)], cwd=ROOT,
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"error: cannot serve metrics on {address}: address already in use"]
