"""Schema 3's compact storage: a schema 2 database (as the code before it wrote them) is upgraded in place and reads
the same; events come back byte for byte; a re-send of an upgraded row is still a duplicate, a forgery a conflict."""

import sqlite3
from pathlib import Path
from typing import Any

import orjson

from consumer.content import content_hash
from consumer.records import Batch, DeadLetter
from consumer.sinks.base import SearchQuery
from consumer.sinks.sqlite import SqliteSink
from consumer.sinks.sqlite_codec import all_stored_events
from consumer.sinks.sqlite_db import SCHEMA_VERSION, fts_rows
from consumer.sinks.sqlite_reader import SqliteReader
from schemas import serialize
from tests.consumer.helpers import make_events

# consumer/sinks/sqlite_db.py's DDL at schema 2 (commit c4924ad), as it created files.
SCHEMA_2 = """
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
    event BLOB NOT NULL,
    content_hash BLOB,
    source_topic TEXT,
    source_partition INTEGER,
    source_offset INTEGER
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
CREATE TABLE IF NOT EXISTS conflicts (
    event_id BLOB NOT NULL,
    content_hash BLOB NOT NULL,
    kept_event BLOB NOT NULL,
    kept_topic TEXT,
    kept_partition INTEGER,
    kept_offset INTEGER,
    rejected_event BLOB NOT NULL,
    rejected_topic TEXT NOT NULL,
    rejected_partition INTEGER NOT NULL,
    rejected_offset INTEGER NOT NULL,
    detected_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (event_id, content_hash)
) WITHOUT ROWID;
"""
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def no_dead_letters(letters: list[DeadLetter]) -> None:
    return None


def schema_2_file(db: Path, events: list[dict[str, Any]]) -> None:
    """What the schema 2 sink wrote for `events` on partition ("logs", 0), offsets 0..n-1: the message beside the
    whole event, the content hash, an external-content FTS table filled from `events`."""
    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA page_size=16384")
        connection.execute("PRAGMA journal_mode=WAL")
        connection.executescript(SCHEMA_2)
        connection.execute("INSERT INTO meta VALUES ('schema_version', '2')")
        for offset, event in enumerate(events):
            body = event["body"]
            message = body if isinstance(body, str) else orjson.dumps(body).decode()
            connection.execute(
                "INSERT INTO events (event_id, timestamp, severity, service, host, file_path, message, event, content_hash, "
                "source_topic, source_partition, source_offset) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (bytes.fromhex(event["event_id"]), event["timestamp"], event["severity_number"],
                 event["resource"]["service.name"], event["resource"]["host.name"], event["attributes"]["log.file.path"],
                 message, serialize(event), content_hash(event) if offset % 2 else None, "logs", 0, offset),
            )
        connection.execute("INSERT INTO events_fts (rowid, message) SELECT id, message FROM events")
        connection.execute("INSERT INTO offsets (topic, partition, next_offset) VALUES ('logs', 0, ?)", (len(events),))
        connection.execute("INSERT INTO dead_letters (topic, partition, offset, error, size, key, raw) "
                           "VALUES ('logs', 0, 99999, 'not JSON', 3, NULL, x'7b787d')")
    connection.close()


def corpus() -> list[dict[str, Any]]:
    events = make_events(700)
    for i, event in enumerate(events):
        event["attributes"]["order_id"] = i % 10
        event["attributes"]["log.record.original"] = f'{{"msg":"{event["body"]}","order_id":{i % 10}}}'
        if i % 100 == 3:
            event["trace_id"] = TRACE
    events[5]["body"] = {"structured": "body", "n": 5}
    return events


def test_a_schema_2_file_is_upgraded_in_place_and_reads_the_same(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    events = corpus()
    schema_2_file(db, events)
    newest = sorted(events, key=lambda e: (e["timestamp"], e["event_id"]), reverse=True)

    sink = SqliteSink(str(db), no_dead_letters)
    sink.setup()  # the upgrade
    connection = sink.connection
    assert connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
    assert SCHEMA_VERSION == 4  # straight to the current layout: names interned too
    assert {name for (name,) in connection.execute("SELECT name FROM sqlite_master")} >= {
        "blocks", "topics", "services", "hosts", "events_fts"}
    assert connection.execute("SELECT name FROM services").fetchall() == [("api",)]
    assert connection.execute("SELECT name FROM hosts").fetchall() == [("web-1",)]
    assert "events_schema_2" not in {name for (name,) in connection.execute("SELECT name FROM sqlite_master")}
    # Compacted once: the old layout's pages went back, and incremental vacuum is on for retention.
    assert connection.execute("PRAGMA auto_vacuum").fetchone() == (2,)
    assert connection.execute("PRAGMA freelist_count").fetchone() == (0,)
    # Byte for byte, in their order; hashes kept where schema 2 had them.
    assert all_stored_events(connection) == [(bytes.fromhex(e["event_id"]), serialize(e)) for e in events]
    hashed = dict(connection.execute("SELECT event_id, content_hash FROM events WHERE content_hash IS NOT NULL").fetchall())
    assert hashed == {bytes.fromhex(e["event_id"]): content_hash(e) for e in events[1::2]}
    assert fts_rows(connection) == len(events)

    reader = SqliteReader(str(db))
    assert reader.totals() == (700, 1)
    assert reader.stored_offsets() == {("logs", 0): 700}
    assert reader.search(SearchQuery(limit=1_000)) == newest
    assert reader.search(SearchQuery(text="handled", limit=1_000)) == [e for e in newest if e is not events[5]]
    assert reader.search(SearchQuery(text="structured")) == [events[5]]
    assert reader.search(SearchQuery(trace_id=TRACE, limit=100)) == [e for e in newest if e.get("trace_id") == TRACE]
    assert reader.search(SearchQuery(attributes=(("order_id", "3"),), limit=100)) == [
        e for e in newest if e["attributes"]["order_id"] == 3]
    assert reader.oldest_timestamp() == events[0]["timestamp"]

    # The upgraded rows still decide what a re-send is: the same event twice is a duplicate, a forgery a conflict.
    sink.stored_offsets([("logs", 0)])
    forged = dict(events[10], body="forged")
    batch = Batch()
    for offset, event in enumerate([events[2], events[3], forged, *make_events(5, start=700)], start=700):
        batch.items.append(sink.prepare(event, serialize(event)))
        batch.sources.append(("logs", 0, offset))
        batch.next_offsets[("logs", 0)] = offset + 1
    sink.add(batch)
    result = sink.flush()
    assert (result.indexed, result.duplicates, result.id_conflicts) == (5, 2, 1)
    (kept,) = connection.execute("SELECT kept_event FROM conflicts").fetchone()
    assert orjson.loads(kept) == events[10]
    assert reader.totals() == (705, 1)
    reader.close()
    sink.close()

    # Opening an upgraded file again changes nothing.
    again = SqliteSink(str(db), no_dead_letters)
    again.setup()
    assert SqliteReader(str(db)).totals() == (705, 1)
    again.close()


def test_a_chunk_with_a_nul_and_re_sends_in_one_batch_is_written_row_by_row_and_found(tmp_path: Path) -> None:
    """SQLite's JSON functions cut text at an escaped NUL: such a chunk goes row by row, same results."""
    db = tmp_path / "logs.db"
    events = make_events(300)
    events[7]["body"] = "before\x00after nul"
    events[8]["trace_id"] = TRACE
    sink = SqliteSink(str(db), no_dead_letters)
    sink.setup()
    sink.stored_offsets([("logs", 0)])
    batch = Batch()
    for offset, event in enumerate([*events, events[3], dict(events[4], body="forged")]):
        batch.items.append(sink.prepare(event, serialize(event)))
        batch.sources.append(("logs", 0, offset))
        batch.next_offsets[("logs", 0)] = offset + 1
    sink.add(batch)
    result = sink.flush()
    assert (result.indexed, result.duplicates, result.id_conflicts) == (300, 1, 1)
    reader = SqliteReader(str(db))
    assert reader.search(SearchQuery(text="nul")) == [events[7]]
    assert reader.search(SearchQuery(trace_id=TRACE)) == [events[8]]
    assert all_stored_events(sink.connection) == [(bytes.fromhex(e["event_id"]), serialize(e)) for e in events]
    assert fts_rows(sink.connection) == 300
    reader.close()
    sink.close()
