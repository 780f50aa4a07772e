"""An event_id that arrives again with different content is a conflict, recorded with both versions; a legitimate
re-send (same content, another observed time or file path) stays a duplicate. Real broker, real SQLite."""

import json
import signal
import socket
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import orjson

from consumer.content import content_hash
from consumer.sinks.sqlite_codec import all_stored_events
from consumer.sinks.sqlite_db import connect, create_schema
from schemas import serialize
from tests.consumer.helpers import make_events, produce, run_consumer, sqlite_config, start_consumer, wait_for
from tests.support.metrics import scrape, value

SCHEMA_1 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    event_id BLOB NOT NULL UNIQUE,
    timestamp TEXT NOT NULL,
    severity INTEGER NOT NULL,
    service TEXT,
    host TEXT,
    file_path TEXT,
    message TEXT NOT NULL,
    event BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_timestamp ON events (timestamp);
CREATE VIRTUAL TABLE IF NOT EXISTS events_fts USING fts5(
    message, content='events', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS offsets (
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (topic, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dead_letters (
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    error TEXT NOT NULL,
    size INTEGER NOT NULL,
    key BLOB,
    raw BLOB NOT NULL,
    received_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (topic, partition, offset)
) WITHOUT ROWID;
INSERT INTO meta VALUES ('schema_version', '1');
"""


def resent(event: dict[str, Any]) -> dict[str, Any]:
    """What the shipper sends for the same line after a crash and a rotation: another observed time and path."""
    again = json.loads(json.dumps(event))
    again["observed_timestamp"] = "2026-01-02T03:04:05.000000006Z"
    again["attributes"]["log.file.path"] = again["attributes"]["log.file.path"] + ".1"
    return again


def forged(event: dict[str, Any]) -> dict[str, Any]:
    fake = json.loads(json.dumps(event))
    fake["body"] = "user admin logged in from 10.0.0.66"
    return fake


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def metric(address: str, name: str) -> float | None:
    try:
        return value(scrape(address, deadline=0), name)
    except OSError:
        return None


def conflict_rows(db: Path) -> list[sqlite3.Row]:
    with sqlite3.connect(db, timeout=30) as connection:
        connection.row_factory = sqlite3.Row
        return connection.execute("SELECT * FROM conflicts").fetchall()


def events_by_id(db: Path) -> dict[str, list[dict[str, Any]]]:
    with sqlite3.connect(db, timeout=30) as connection:
        found: dict[str, list[dict[str, Any]]] = {}
        for event_id, event in all_stored_events(connection):
            found.setdefault(event_id.hex(), []).append(orjson.loads(event))
        return found


def status(config: Path) -> dict[str, Any]:
    result = run_consumer("status", "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    value: dict[str, Any] = json.loads(result.stdout)
    return value


def test_the_hash_leaves_out_what_a_re_send_changes_and_keeps_what_the_line_says() -> None:
    event = make_events(1)[0]
    assert content_hash(resent(event)) == content_hash(event)
    retimed = dict(event, timestamp="2026-05-05T00:00:00.000000000Z", format="auto", input_id="other")
    assert content_hash(retimed) == content_hash(event)
    assert content_hash(forged(event)) != content_hash(event)
    for change in ({"severity_number": 21}, {"resource": {**event["resource"], "host.id": "web-2"}},
                   {"attributes": {**event["attributes"], "user": "root"}}, {"parse_error": True}):
        assert content_hash({**event, **change}) != content_hash(event), change
    reordered = json.loads(json.dumps(dict(reversed(list(event.items())))))
    assert content_hash(reordered) == content_hash(event)


def test_a_forged_event_id_is_a_conflict_with_both_versions_kept_and_counted(
    tmp_path: Path, db_path: Path, kafka_bootstrap: str, kafka_topic: str, group_id: str
) -> None:
    real, other = make_events(2)
    produce(kafka_bootstrap, kafka_topic, [real, other, resent(real)])
    address = f"127.0.0.1:{free_port()}"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    config = sqlite_config(db_path, kafka_bootstrap, kafka_topic, group_id, extra=f'metrics_address = "{address}"')

    first = run_consumer("run", "--config", str(config), "--once", "--idle-timeout", "3")
    assert first.returncode == 0, first.stderr[-2000:]
    assert conflict_rows(db_path) == []  # the legitimate re-send is a duplicate
    assert '"duplicates_skipped":1' in first.stderr
    assert status(config)["conflicts"] == 0

    fake = forged(real)
    produce(kafka_bootstrap, kafka_topic, [fake])
    worker = start_consumer("run", "--config", str(config), log=tmp_path / "worker.log")
    try:
        wait_for(lambda: len(conflict_rows(db_path)) == 1, 60, "the conflict row")
        wait_for(lambda: metric(address, "logferry_consumer_conflicting_events_total") == 1.0, 30, "the conflicts metric")
        assert metric(address, "logferry_consumer_indexed_events_total") == 0.0
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, (tmp_path / "worker.log").read_text()[-2000:]

    stored = events_by_id(db_path)
    assert len(stored) == 2 and stored[real["event_id"]] == [real]  # one row, the first version
    (row,) = conflict_rows(db_path)
    assert row["event_id"].hex() == real["event_id"]
    assert orjson.loads(row["kept_event"]) == real and orjson.loads(row["rejected_event"]) == fake
    assert row["kept_topic"] == row["rejected_topic"] == kafka_topic
    assert row["kept_partition"] == row["rejected_partition"]  # one key, one partition: offsets 0 and 3 of it
    assert (row["kept_offset"], row["rejected_offset"]) == (0, 3)
    assert row["content_hash"] == content_hash(fake)

    shown = status(config)
    assert shown["conflicts"] == 1 and shown["indexed_events"] == 2
    assert shown["latest_conflicts"][0]["event_id"] == real["event_id"]
    assert shown["latest_conflicts"][0]["rejected"] == {"topic": kafka_topic, "partition": row["rejected_partition"],
                                                        "offset": 3}
    text = run_consumer("status", "--config", str(config))
    assert "conflicts 1" in text.stdout and real["event_id"] in text.stdout

    # Reading everything again (a replay) records nothing new: the conflict is the same one.
    assert run_consumer("replay", "--config", str(config), "--to-earliest", "--yes").returncode == 0
    again = run_consumer("run", "--config", str(config), "--once", "--idle-timeout", "3")
    assert again.returncode == 0, again.stderr[-2000:]
    assert len(conflict_rows(db_path)) == 1 and status(config)["conflicts"] == 1
    assert '"duplicates_skipped":4' in again.stderr


def test_both_versions_in_one_batch_and_a_schema_1_database_are_handled(
    db_path: Path, kafka_bootstrap: str, kafka_topic: str, group_id: str
) -> None:
    old, real = make_events(2)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(db_path) as connection:
        connection.executescript(SCHEMA_1)  # as the consumer before conflicts made it
        connection.execute(
            "INSERT INTO events (event_id, timestamp, severity, message, event) VALUES (?, ?, ?, ?, ?)",
            (bytes.fromhex(old["event_id"]), old["timestamp"], old["severity_number"], old["body"], serialize(old)),
        )
    connection.close()
    config = sqlite_config(db_path, kafka_bootstrap, kafka_topic, group_id)
    before = status(config)  # readable before a consumer of this version upgraded it
    assert (before["indexed_events"], before["conflicts"]) == (1, 0)
    fake_old, fake_real = forged(old), forged(real)
    # The old row's re-send is a duplicate; its forgery and the forgery of `real` (right behind it) are conflicts.
    produce(kafka_bootstrap, kafka_topic, [resent(old), fake_old, real, fake_real])
    result = run_consumer("run", "--config", str(config), "--once", "--idle-timeout", "3")
    assert result.returncode == 0, result.stderr[-2000:]

    stored = events_by_id(db_path)
    assert stored == {old["event_id"]: [old], real["event_id"]: [real]}
    rows = {row["event_id"].hex(): row for row in conflict_rows(db_path)}
    assert set(rows) == {old["event_id"], real["event_id"]}
    assert orjson.loads(rows[old["event_id"]]["rejected_event"]) == fake_old
    assert rows[old["event_id"]]["kept_topic"] is None  # written before the index kept sources
    assert orjson.loads(rows[real["event_id"]]["kept_event"]) == real
    with connect(str(db_path), create=False) as connection:
        (version,) = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        (hashed,) = connection.execute("SELECT content_hash FROM events WHERE event_id = ?",
                                       (bytes.fromhex(old["event_id"]),)).fetchone()
        create_schema(connection)  # idempotent on an upgraded file
    assert version == "4" and hashed == content_hash(old)
    assert status(config)["conflicts"] == 2
