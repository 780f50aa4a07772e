"""The broker stopped and started again under a running worker: the worker stays up and indexes every event once.

Runs its own broker (compose/kafka/local-kafka with a run directory of its own), since it must stop it."""

import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.consumer.helpers import indexed_ids, make_events, produce, sqlite_config, start_consumer, wait_for
from tests.support.kafka import local_kafka, new_topic

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    env = {"LOGFERRY_KAFKA_RUN_DIR": str(tmp_path / "kafka-run")}
    line = local_kafka("start", env=env)
    try:
        yield line.split("=", 1)[1], env
    finally:
        local_kafka("reset", env=env)


def test_broker_restart_mid_stream_loses_and_duplicates_nothing(own_broker: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    bootstrap, env = own_broker
    topic = new_topic(bootstrap)
    db = tmp_path / "index" / "logs.db"
    db.parent.mkdir()
    config = sqlite_config(db, bootstrap, topic, f"outage-{topic}")
    first = [e for n in range(3) for e in make_events(300, file=f"dev:1/ino:{n}")]
    second = [e for n in range(3) for e in make_events(300, file=f"dev:1/ino:{n}", start=300)]
    produce(bootstrap, topic, first)
    worker = start_consumer("run", "--config", str(config), log=tmp_path / "worker.log")
    try:
        wait_for(lambda: _count(db) == len(first), 60, "the first events indexed")
        local_kafka("stop", env=env)
        time.sleep(4)
        assert worker.poll() is None
        assert local_kafka("start", env=env) == f"KAFKA_BOOTSTRAP_SERVERS={bootstrap}"
        produce(bootstrap, topic, second)
        wait_for(lambda: _count(db) == len(first) + len(second), 120, "every event indexed after the restart")
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(90)
    assert code == 0
    assert sorted(indexed_ids(db)) == sorted(str(e["event_id"]) for e in first + second)


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=30) as connection:
            return int(connection.execute("SELECT count(*) FROM events").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
