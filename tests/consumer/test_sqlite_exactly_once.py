"""Exactly once into SQLite against the real broker: kills, re-deliveries, replays, poison, rebalances."""

import os
import signal
import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Consumer

from tests.consumer.helpers import (
    fts_count,
    indexed_ids,
    make_events,
    produce,
    run_consumer,
    sqlite_config,
    start_consumer,
    wait_for,
)

pytestmark = pytest.mark.kafka


def files_of_events(per_file: int, files: int = 6) -> list[dict[str, object]]:
    """Events of several files, so every partition gets some (the key is the file's stream id)."""
    events: list[dict[str, object]] = []
    for number in range(files):
        events += make_events(per_file, file=f"dev:1/ino:{number}", service=f"svc{number % 3}")
    return events


def assert_exactly(db: Path, events: list[dict[str, object]]) -> None:
    ids = indexed_ids(db)
    duplicates = [i for i, n in Counter(ids).items() if n > 1]
    assert duplicates == []
    assert set(ids) == {str(e["event_id"]) for e in events}
    assert fts_count(db) == len(ids)


@pytest.mark.slow
def test_worker_killed_mid_batch_then_restarted_indexes_every_event_once(
    kafka_bootstrap: str, kafka_topic: str, sqlite_consumer_config: Path, db_path: Path, tmp_path: Path
) -> None:
    events = files_of_events(10_000)
    produce(kafka_bootstrap, kafka_topic, events)
    # Small batches so that a kill lands between many transactions, not after the last one.
    config = sqlite_config(db_path, kafka_bootstrap, kafka_topic, f"kill9-{kafka_topic}", extra="batch_max_events = 500")
    for _ in range(2):
        worker = start_consumer("run", "--config", str(config), log=tmp_path / "worker.log")
        floor = (_count(db_path) if db_path.exists() else 0) + 2_000
        wait_for(lambda floor=floor: db_path.exists() and _count(db_path) >= floor, 60, f"{floor} events indexed")
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        assert _count(db_path) < len(events), "the kill came too late to interrupt the run"
    result = run_consumer("run", "--config", str(config), "--once", "--idle-timeout", "3")
    assert result.returncode == 0, result.stderr
    assert_exactly(db_path, events)


def test_events_produced_twice_are_indexed_once(
    kafka_bootstrap: str, kafka_topic: str, sqlite_consumer_config: Path, db_path: Path
) -> None:
    events = files_of_events(300, files=3)
    produce(kafka_bootstrap, kafka_topic, events)
    produce(kafka_bootstrap, kafka_topic, events[100:700])  # what a shipper restarted from an old checkpoint sends
    result = run_consumer("run", "--config", str(sqlite_consumer_config), "--once", "--idle-timeout", "2")
    assert result.returncode == 0, result.stderr
    assert_exactly(db_path, events)
    stopped = next(orjson.loads(line) for line in result.stderr.splitlines() if '"Stopped."' in line)
    assert (stopped["indexed"], stopped["duplicates_skipped"]) == (900, 600)


def test_replay_to_earliest_then_run_leaves_counts_unchanged(
    kafka_bootstrap: str, kafka_topic: str, sqlite_consumer_config: Path, db_path: Path
) -> None:
    events = files_of_events(200, files=3)
    produce(kafka_bootstrap, kafka_topic, events)
    assert run_consumer("run", "--config", str(sqlite_consumer_config), "--once", "--idle-timeout", "2").returncode == 0
    before = _status(sqlite_consumer_config)
    assert before["indexed_events"] == 600 and before["total_lag"] == 0

    replay = run_consumer("replay", "--config", str(sqlite_consumer_config), "--to-earliest", "--yes")
    assert replay.returncode == 0, replay.stderr
    assert "600 records will be read again" in replay.stdout
    rewound = _status(sqlite_consumer_config)
    assert rewound["total_lag"] == 600
    assert all(p["stored_offset"] == p["committed_offset"] == 0 for p in rewound["partitions"] if p["log_end_offset"])

    again = run_consumer("run", "--config", str(sqlite_consumer_config), "--once", "--idle-timeout", "2")
    assert again.returncode == 0, again.stderr
    after = _status(sqlite_consumer_config)
    assert (after["indexed_events"], after["total_lag"]) == (600, 0)
    assert_exactly(db_path, events)
    stopped = next(orjson.loads(line) for line in again.stderr.splitlines() if '"Stopped."' in line)
    assert (stopped["indexed"], stopped["duplicates_skipped"]) == (0, 600)


def test_replay_dry_run_changes_nothing_and_shift_by_moves_back(
    kafka_bootstrap: str, kafka_topic: str, sqlite_consumer_config: Path, db_path: Path
) -> None:
    events = make_events(50)  # one file: one partition
    produce(kafka_bootstrap, kafka_topic, events)
    assert run_consumer("run", "--config", str(sqlite_consumer_config), "--once", "--idle-timeout", "2").returncode == 0
    dry = run_consumer("replay", "--config", str(sqlite_consumer_config), "--shift-by", "-20", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "20 records would be read again (dry run" in dry.stdout
    assert _status(sqlite_consumer_config)["total_lag"] == 0
    shifted = run_consumer("replay", "--config", str(sqlite_consumer_config), "--shift-by", "-20", "--yes")
    assert shifted.returncode == 0, shifted.stderr
    stored = {p["stored_offset"] for p in _status(sqlite_consumer_config)["partitions"] if p["log_end_offset"]}
    assert stored == {30}


def test_replay_refuses_while_the_group_has_active_members(
    kafka_bootstrap: str, kafka_topic: str, sqlite_consumer_config: Path, tmp_path: Path
) -> None:
    produce(kafka_bootstrap, kafka_topic, make_events(10))
    worker = start_consumer("run", "--config", str(sqlite_consumer_config), log=tmp_path / "worker.log")
    try:
        wait_for(lambda: "Partitions assigned" in (tmp_path / "worker.log").read_text(), 60, "the worker to join")
        refused = run_consumer("replay", "--config", str(sqlite_consumer_config), "--to-earliest", "--yes")
        assert refused.returncode == 1
        assert "active member" in refused.stderr and "stop every worker" in refused.stderr
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(60) == 0


def test_poison_message_in_the_middle_of_a_partition_is_dead_lettered_and_the_rest_indexed(
    kafka_bootstrap: str, kafka_topic: str, sqlite_consumer_config: Path, db_path: Path
) -> None:
    events = make_events(40)
    key = str(events[0]["event_id"])[:16].encode()  # same key: same partition as the events
    produce(kafka_bootstrap, kafka_topic, events[:20], raw=[(key, b"{not json"), (key, b'{"schema_version": 1}')])
    produce(kafka_bootstrap, kafka_topic, events[20:])
    result = run_consumer("run", "--config", str(sqlite_consumer_config), "--once", "--idle-timeout", "2")
    assert result.returncode == 0, result.stderr
    assert_exactly(db_path, events)
    with sqlite3.connect(db_path) as db:
        letters = db.execute("SELECT offset, error, raw FROM dead_letters ORDER BY offset").fetchall()
    assert [(o, bytes(r)) for o, _, r in letters] == [(20, b"{not json"), (21, b'{"schema_version": 1}')]
    assert "not valid JSON" in letters[0][1] and "has no event_id" in letters[1][1]
    status = _status(sqlite_consumer_config)
    assert status["dead_letters"] == 2 and status["total_lag"] == 0

    reader = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": f"dlq-{kafka_topic}", "auto.offset.reset": "earliest"})
    reader.subscribe([kafka_topic + ".deadletter"])
    seen: list[object] = []
    deadline = time.monotonic() + 30
    while len(seen) < 2 and time.monotonic() < deadline:
        seen += [m for m in reader.consume(10, 0.5) if m.error() is None]
    reader.close()
    assert [m.value() for m in seen] == [b"{not json", b'{"schema_version": 1}']  # type: ignore[attr-defined]
    headers = dict(seen[0].headers())  # type: ignore[attr-defined]
    assert headers["logferry.source.topic"] == kafka_topic.encode()
    assert headers["logferry.source.offset"] == b"20"


@pytest.mark.slow
def test_two_workers_one_leaving_and_rejoining_mid_stream_lose_and_duplicate_nothing(
    kafka_bootstrap: str, kafka_topic: str, sqlite_consumer_config: Path, db_path: Path, tmp_path: Path
) -> None:
    config = sqlite_consumer_config
    first = start_consumer("run", "--config", str(config), log=tmp_path / "w1.log")
    second = start_consumer("run", "--config", str(config), log=tmp_path / "w2.log")
    produced: list[dict[str, object]] = []
    try:
        for round_number in range(6):
            chunk = []
            for number in range(6):
                chunk += make_events(400, file=f"dev:1/ino:{number}", start=round_number * 400)
            produce(kafka_bootstrap, kafka_topic, chunk)
            produced += chunk
            if round_number == 1:
                # It must hold partitions before it leaves (on a loaded machine the first rebalance can give it none
                # yet), else its leaving tests nothing and its log has one assignment fewer than this test counts.
                wait_for(lambda: "Partitions assigned" in (tmp_path / "w2.log").read_text(), 60, "the second worker assigned")
                second.send_signal(signal.SIGTERM)  # leaves the group cleanly, mid-stream
                assert second.wait(60) == 0
            if round_number == 3:
                second = start_consumer("run", "--config", str(config), log=tmp_path / "w2.log")
            time.sleep(0.5)
        wait_for(lambda: _count(db_path) >= len(produced), 90, "every event indexed")
        wait_for(lambda: (tmp_path / "w2.log").read_text().count("Partitions assigned") >= 2, 60, "the second worker back")
    finally:
        for worker in (first, second):
            worker.send_signal(signal.SIGTERM)
        codes = [first.wait(60), second.wait(60)]
    assert codes == [0, 0]
    assert_exactly(db_path, produced)
    log = (tmp_path / "w2.log").read_text()
    assert log.count("Partitions assigned") >= 2


def test_sigterm_finishes_the_batch_commits_and_exits_zero(
    kafka_bootstrap: str, kafka_topic: str, sqlite_consumer_config: Path, db_path: Path, tmp_path: Path
) -> None:
    events = files_of_events(500, files=3)
    produce(kafka_bootstrap, kafka_topic, events)
    worker = start_consumer("run", "--config", str(sqlite_consumer_config), log=tmp_path / "worker.log")
    wait_for(lambda: db_path.exists() and _count(db_path) == len(events), 60, "every event indexed")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(60) == 0
    status = _status(sqlite_consumer_config)
    assert all(p["committed_offset"] == p["stored_offset"] == p["log_end_offset"]
               for p in status["partitions"] if p["log_end_offset"])
    assert "Stopped." in (tmp_path / "worker.log").read_text()


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=30) as connection:
            return int(connection.execute("SELECT count(*) FROM events").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def _status(config: Path) -> dict[str, Any]:
    result = run_consumer("status", "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    return orjson.loads(result.stdout)  # type: ignore[no-any-return]


def test_replay_to_datetime_and_by_duration_move_to_the_first_record_at_that_time(
    kafka_bootstrap: str, kafka_topic: str, sqlite_consumer_config: Path
) -> None:
    produce(kafka_bootstrap, kafka_topic, make_events(30))  # one file: one partition
    time.sleep(1.5)
    between = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z"
    time.sleep(1.5)
    produce(kafka_bootstrap, kafka_topic, make_events(20, start=30))
    assert run_consumer("run", "--config", str(sqlite_consumer_config), "--once", "--idle-timeout", "2").returncode == 0

    to_time = run_consumer("replay", "--config", str(sqlite_consumer_config), "--to-datetime", between, "--yes")
    assert to_time.returncode == 0, to_time.stderr
    assert "20 records will be read again" in to_time.stdout
    assert {p["stored_offset"] for p in _status(sqlite_consumer_config)["partitions"] if p["log_end_offset"]} == {30}

    by_duration = run_consumer("replay", "--config", str(sqlite_consumer_config), "--by-duration", "P1D", "--yes")
    assert by_duration.returncode == 0, by_duration.stderr
    assert {p["stored_offset"] for p in _status(sqlite_consumer_config)["partitions"] if p["log_end_offset"]} == {0}

    to_offset = run_consumer("replay", "--config", str(sqlite_consumer_config), "--to-offset", "45", "--topic", kafka_topic,
                             "--yes")
    assert to_offset.returncode == 0, to_offset.stderr
    partitions = _status(sqlite_consumer_config)["partitions"]
    # Clamped to each partition's end, as kafka-consumer-groups does: 45 where 50 records are, 0 where none.
    assert sorted((p["log_end_offset"], p["stored_offset"], p["committed_offset"]) for p in partitions) == [
        (0, 0, 0), (0, 0, 0), (50, 45, 45)
    ]


def test_replay_of_an_unknown_topic_is_refused_in_one_line(sqlite_consumer_config: Path) -> None:
    result = run_consumer("replay", "--config", str(sqlite_consumer_config), "--to-earliest", "--topic", "other", "--yes")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("replay failed: topic 'other' is not one of the configured topics")


def test_an_oversize_record_is_dead_lettered_with_its_size_and_the_rest_indexed(
    kafka_bootstrap: str, kafka_topic: str, db_path: Path
) -> None:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    config = sqlite_config(db_path, kafka_bootstrap, kafka_topic, f"oversize-{kafka_topic}",
                           extra="max_record_bytes = 2000\ndeadletter_raw_bytes = 1000")
    events = make_events(5)
    huge = make_events(1, start=5, body="x" * 5000)
    produce(kafka_bootstrap, kafka_topic, events[:2] + huge + events[2:])
    result = run_consumer("run", "--config", str(config), "--once", "--idle-timeout", "2")
    assert result.returncode == 0, result.stderr
    assert_exactly(db_path, events)
    with sqlite3.connect(db_path) as db:
        ((offset, error, size, raw),) = db.execute("SELECT offset, error, size, length(raw) FROM dead_letters").fetchall()
    assert (offset, raw) == (2, 1000) and size > 5000
    assert f"the record is {size} bytes, more than max_record_bytes 2000" in error


def test_a_topic_created_after_the_worker_started_is_indexed(
    kafka_bootstrap: str, db_path: Path, tmp_path: Path
) -> None:
    import uuid

    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    topic = f"late-{uuid.uuid4().hex[:10]}"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    config = sqlite_config(db_path, kafka_bootstrap, topic, f"late-{topic}")
    worker = start_consumer("run", "--config", str(config), log=tmp_path / "worker.log")
    events = make_events(20)
    try:
        time.sleep(3)
        admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
        admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(timeout=30)
        time.sleep(1)
        produce(kafka_bootstrap, topic, events)
        wait_for(lambda: _count(db_path) == len(events), 60, "the late topic indexed")
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(60) == 0
    assert_exactly(db_path, events)


def test_a_static_member_restarted_resumes_where_it_stopped_and_indexes_only_what_is_new(
    kafka_bootstrap: str, kafka_topic: str, db_path: Path, tmp_path: Path
) -> None:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    config = sqlite_config(db_path, kafka_bootstrap, kafka_topic, f"static-{kafka_topic}",
                           kafka_extra='group_instance_id = "indexer-1"')
    events = files_of_events(200, files=3)
    produce(kafka_bootstrap, kafka_topic, events[:300])
    first = run_consumer("run", "--config", str(config), "--once", "--idle-timeout", "2")
    assert first.returncode == 0, first.stderr
    produce(kafka_bootstrap, kafka_topic, events[300:])
    second = run_consumer("run", "--config", str(config), "--once", "--idle-timeout", "2")
    assert second.returncode == 0, second.stderr
    assert_exactly(db_path, events)
    stopped = next(orjson.loads(line) for line in second.stderr.splitlines() if '"Stopped."' in line)
    assert (stopped["indexed"], stopped["duplicates_skipped"]) == (300, 0)
