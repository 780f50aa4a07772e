"""A worker whose index cannot grow (a full disk) pauses, keeps its membership, and loses nothing once space returns."""

import resource
import socket
import sqlite3
import time
from pathlib import Path

import pytest

from tests.consumer.helpers import indexed_ids, make_events, produce, sqlite_config, start_consumer, wait_for
from tests.support.metrics import scrape, value

pytestmark = pytest.mark.kafka


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def metric(port: int, name: str, **labels: str) -> float:
    found = value(scrape(f"127.0.0.1:{port}"), name, **labels)
    assert found is not None, f"{name} not in /metrics"
    return found


@pytest.mark.slow
def test_full_disk_pauses_then_everything_is_indexed_once_space_returns(
    kafka_bootstrap: str, kafka_topic: str, db_path: Path, tmp_path: Path
) -> None:
    port = free_port()
    db_path.parent.mkdir(parents=True)
    config = sqlite_config(db_path, kafka_bootstrap, kafka_topic, f"fulldisk-{kafka_topic}",
                           extra=f'metrics_address = "127.0.0.1:{port}"')
    first, second = make_events(200), make_events(3000, start=200)
    produce(kafka_bootstrap, kafka_topic, first)
    worker = start_consumer("run", "--config", str(config), log=tmp_path / "worker.log")
    try:
        wait_for(lambda: db_path.exists() and _count(db_path) == 200, 60, "the first events indexed")
        # Files of the worker may not grow past 64 KiB: SQLite's writes fail as on a full disk.
        resource.prlimit(worker.pid, resource.RLIMIT_FSIZE, (65_536, resource.RLIM_INFINITY))
        produce(kafka_bootstrap, kafka_topic, second)
        wait_for(lambda: metric(port, "logferry_consumer_flush_failures_total") >= 2, 60, "failed writes")
        assert _count(db_path) == 200
        assert worker.poll() is None
        time.sleep(1.0)
        resource.prlimit(worker.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        wait_for(lambda: _count(db_path) == 3200, 60, "every event indexed after the disk recovered")
        wait_for(lambda: metric(port, "logferry_consumer_indexed_events_total") == 3200, 10, "the metric to follow")
        assert metric(port, "logferry_consumer_dead_letter_records_total") == 0
        wait_for(lambda: sum(metric(port, "logferry_consumer_lag_records", topic=kafka_topic, partition=str(p))
                             for p in range(3)) == 0, 10, "the lag to reach 0")
        assert metric(port, "logferry_consumer_batch_seconds_count") >= 2
    finally:
        worker.terminate()
        assert worker.wait(60) == 0
    assert sorted(indexed_ids(db_path)) == sorted(str(e["event_id"]) for e in first + second)


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=30) as connection:
            return int(connection.execute("SELECT count(*) FROM events").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
