"""Schema 3 -> 4 in place: a schema 3 file (service and host as text in every row) is upgraded when the sink opens it,
names interned, row ids, blocks and full-text entries kept, and every search, count and re-send decision is the same
as before; a reader refuses the file until then."""

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from consumer.records import Batch
from consumer.sinks.base import SearchQuery, SinkError
from consumer.sinks.sqlite import SqliteSink
from consumer.sinks.sqlite_codec import all_stored_events
from consumer.sinks.sqlite_db import SCHEMA_VERSION, fts_rows, layout_version
from consumer.sinks.sqlite_reader import SqliteReader
from schemas import serialize
from schemas.timefmt import format_ns
from tests.consumer.helpers import BASE_NS, make_events
from tests.consumer.test_sqlite_names import ODD_HOSTS, ODD_SERVICES, TOPIC, write

# consumer/sinks/sqlite_db.py's `events` and its indexes at schema 3 (commit ee94146); every other table of schema 3
# is as schema 4 has it.
SCHEMA_3_EVENTS = """
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    event_id BLOB NOT NULL UNIQUE,
    timestamp INTEGER NOT NULL,
    severity INTEGER NOT NULL,
    service TEXT,
    host TEXT,
    trace_id BLOB,
    source_topic INTEGER,
    source_partition INTEGER,
    source_offset INTEGER,
    content_hash BLOB
);
CREATE INDEX events_by_timestamp ON events (timestamp);
CREATE INDEX events_by_trace ON events (trace_id) WHERE trace_id IS NOT NULL;
CREATE INDEX events_by_severity ON events (severity, timestamp);
CREATE INDEX events_by_source ON events (service, host, severity, timestamp);
"""
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
HOUR_NS = 3_600_000_000_000


def as_schema_3(db: Path) -> None:
    """Rewrite a schema 4 file into what the schema 3 sink wrote for the same events: the names in the rows, no
    dictionaries. The blocks, FTS entries, topics, offsets and meta rows of the two schemas are the same."""
    connection = sqlite3.connect(db, isolation_level=None)
    connection.execute("BEGIN")
    connection.execute("ALTER TABLE events RENAME TO events_4")
    for index in ("events_by_timestamp", "events_by_trace", "events_by_severity", "events_by_source"):
        connection.execute(f"DROP INDEX {index}")
    for statement in [part for part in SCHEMA_3_EVENTS.split(";") if part.strip()]:
        connection.execute(statement)
    connection.execute(
        "INSERT INTO events SELECT e.id, e.event_id, e.timestamp, e.severity, s.name, h.name, e.trace_id, e.source_topic, "
        "e.source_partition, e.source_offset, e.content_hash FROM events_4 AS e LEFT JOIN services AS s ON s.id = e.service "
        "LEFT JOIN hosts AS h ON h.id = e.host ORDER BY e.id")
    connection.execute("DROP TABLE events_4")
    connection.execute("DROP TABLE services")
    connection.execute("DROP TABLE hosts")
    connection.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    connection.execute("COMMIT")
    assert layout_version(connection) == 3
    connection.close()


def corpus() -> list[dict[str, Any]]:
    events = []
    for n, (service, host) in enumerate(zip(ODD_SERVICES, ODD_HOSTS, strict=True)):
        events += make_events(120, file=f"dev:1/ino:{n}", start=n * 120, service=service, host=host,
                              step_ns=7_000_000_000)
    for i, event in enumerate(events):
        event["attributes"]["order_id"] = i % 10
        if i % 50 == 3:
            event["trace_id"] = TRACE
    del events[11]["resource"]["service.name"]
    return events


QUERIES = [
    SearchQuery(limit=1_000), SearchQuery(text="handled", limit=1_000), SearchQuery(service=ODD_SERVICES[0], limit=1_000),
    SearchQuery(service=ODD_SERVICES[2], host=ODD_HOSTS[2], limit=1_000), SearchQuery(host=ODD_HOSTS[1], limit=1_000),
    SearchQuery(service="never seen"), SearchQuery(min_severity=13, limit=1_000), SearchQuery(trace_id=TRACE, limit=100),
    SearchQuery(attributes=(("order_id", "3"),), limit=1_000),
]


def answers(db: Path) -> list[Any]:
    reader = SqliteReader(str(db))
    try:
        ranged = SearchQuery(since=format_ns(BASE_NS - HOUR_NS), until=format_ns(BASE_NS + 2 * HOUR_NS))
        found: list[Any] = [reader.totals(), reader.stored_offsets(), reader.oldest_timestamp()]
        for query in QUERIES:
            found += [reader.search(query), reader.facets(query, limit=100)]
        found.append(reader.histogram(ranged, 600_000_000_000))
        found.append(reader.histogram(SearchQuery(since=ranged.since, until=ranged.until, service=ODD_SERVICES[1]),
                                      600_000_000_000))
        return found
    finally:
        reader.close()


def test_a_schema_3_file_is_upgraded_in_place_and_answers_the_same(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    events = corpus()
    write(db, events)
    before = answers(db)
    assert before[3] and before[5]  # the searches find something: the comparison below is not of empty answers
    as_schema_3(db)
    with pytest.raises(SinkError, match=f"predates schema {SCHEMA_VERSION}"):
        SqliteReader(str(db)).search(SearchQuery())
    with sqlite3.connect(db) as plain:
        ids_before = plain.execute("SELECT id, event_id FROM events ORDER BY id").fetchall()
        (blocks_before,) = plain.execute("SELECT count(*) FROM blocks").fetchone()
    plain.close()

    sink = SqliteSink(str(db), lambda letters: None)
    sink.setup()  # the upgrade
    connection = sink.connection
    assert connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("4",)
    assert layout_version(connection) == SCHEMA_VERSION == 4
    assert connection.execute("SELECT id, event_id FROM events ORDER BY id").fetchall() == ids_before
    assert connection.execute("SELECT count(*) FROM blocks").fetchone() == (blocks_before,)
    assert fts_rows(connection) == len(events)
    assert all_stored_events(connection) == [(bytes.fromhex(e["event_id"]), serialize(e)) for e in events]
    assert sorted(n for (n,) in connection.execute("SELECT name FROM services")) == sorted(ODD_SERVICES)
    assert sorted(n for (n,) in connection.execute("SELECT name FROM hosts")) == sorted(ODD_HOSTS)
    assert connection.execute("SELECT DISTINCT typeof(host) FROM events").fetchall() == [("integer",)]
    assert connection.execute("SELECT count(*) FROM events WHERE service IS NULL").fetchone() == (1,)
    indexes = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert indexes >= {"events_by_timestamp", "events_by_trace", "events_by_severity", "events_by_source"}
    assert "events_schema_3" not in {n for (n,) in connection.execute("SELECT name FROM sqlite_master")}
    assert connection.execute("PRAGMA freelist_count").fetchone() == (0,)  # compacted once
    assert answers(db) == before

    # A re-send of an upgraded row is a duplicate; new rows and new names go on after the upgraded ones.
    sink.stored_offsets([(TOPIC, 0)])
    batch = Batch()
    new = make_events(5, file="dev:1/ino:77", start=5_000, service="after-upgrade", host=ODD_HOSTS[0],
                      step_ns=7_000_000_000)  # newer than the rest
    for offset, event in enumerate([events[2], *new], start=len(events)):
        batch.items.append(sink.prepare(event, serialize(event)))
        batch.sources.append((TOPIC, 0, offset))
        batch.next_offsets[(TOPIC, 0)] = offset + 1
    sink.add(batch)
    result = sink.flush()
    assert (result.indexed, result.duplicates) == (5, 1)
    assert connection.execute("SELECT min(id) FROM events WHERE service = (SELECT id FROM services WHERE name = ?)",
                              ("after-upgrade",)).fetchone()[0] > ids_before[-1][0]
    sink.close()
    reader = SqliteReader(str(db))
    assert reader.search(SearchQuery(service="after-upgrade")) == sorted(
        new, key=lambda e: e["timestamp"], reverse=True)
    assert reader.search(SearchQuery(host=ODD_HOSTS[0], limit=1_000))[:5] == sorted(
        new, key=lambda e: e["timestamp"], reverse=True)
    reader.close()

    # Opening the upgraded file again changes nothing.
    again = SqliteSink(str(db), lambda letters: None)
    again.setup()
    assert again.connection.execute("SELECT count(*) FROM events").fetchone() == (len(events) + 5,)
    again.close()
