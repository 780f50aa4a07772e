"""Older layouts upgraded in place, inside the caller's transaction (consumer/sinks/sqlite_db.create_schema):

- schema 1 or 2 -> the current layout (`upgrade_from_2`): the old `events` rows are rewritten through the sink's own
  write path (blocks, integer timestamps, topic, service and host ids), the FTS table rebuilt from the messages they
  stored, the old tables dropped. Row ids change (the order is kept); nothing outside `events` refers to them.
- schema 3 -> 4 (`upgrade_from_3`): service and host interned (consumer/sinks/sqlite_names.py): `events` copied into
  a table whose `service` and `host` are ids, with the same row ids, so the blocks and the FTS entries (keyed by row
  id) stay as they are; its indexes built again after the copy (a schema 3 file that predates the console's
  indexes gets them here too).

Then `compact_after_upgrade` gives the old pages back with one VACUUM.
"""

import logging
import sqlite3

import orjson

from consumer.sinks.sqlite_codec import BlockEncoder
from consumer.sinks.sqlite_rows import Row, Source, insert_chunk, insert_topics, pack, timestamp_ns, trace_bytes

log = logging.getLogger(__name__)

READ_CHUNK = 20_000


def upgrade_from_2(connection: sqlite3.Connection, ddl: str) -> None:
    from consumer.sinks.sqlite_db import FTS_AUTOMERGE, LAST_EVENT_ID, _statements

    columns = {row[1] for row in connection.execute("PRAGMA table_info(events)")}
    connection.execute("DROP TABLE IF EXISTS events_fts")  # external content: dropping it leaves `events` as it is
    connection.execute("DROP INDEX IF EXISTS events_by_timestamp")
    connection.execute("ALTER TABLE events RENAME TO events_schema_2")
    for statement in _statements(ddl + FTS_AUTOMERGE):
        connection.execute(statement)
    optional = [name if name in columns else "NULL" for name in ("content_hash", "source_topic", "source_partition",
                                                                  "source_offset")]
    cursor = connection.execute(
        f"SELECT event_id, timestamp, severity, service, host, message, event, {', '.join(optional)} "
        "FROM events_schema_2 ORDER BY id"
    )
    (page_size,) = connection.execute("PRAGMA page_size").fetchone()
    encoder = BlockEncoder(int(page_size))
    base = 1
    moved = 0
    while True:
        found = cursor.fetchmany(READ_CHUNK)
        if not found:
            break
        rows: list[Row] = []
        sources: list[Source] = []
        hashes: list[tuple[bytes, int]] = []
        for position, (event_id, stamp, severity, service, host, message, event, hashed, topic, partition, offset) in (
            enumerate(found)
        ):
            raw = bytes(event)
            try:
                nanoseconds = timestamp_ns(str(stamp))
            except ValueError:
                nanoseconds = 0  # kept, oldest of all, rather than lost
            rows.append((bytes(event_id), nanoseconds, int(severity), service, host, trace_bytes(orjson.loads(raw)),
                         str(message), raw))
            sources.append((topic, partition, offset))
            if hashed is not None:
                hashes.append((bytes(hashed), base + position))
        insert_topics(connection, {str(source[0]) for source in sources if source[0] is not None})
        for chunk in pack(rows, sources, encoder):
            insert_chunk(connection, chunk, base)
            base += len(chunk[0]) // 16
        connection.executemany("UPDATE events SET content_hash = ? WHERE id = ?", hashes)
        moved += len(found)
    connection.execute("DROP TABLE events_schema_2")
    connection.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (LAST_EVENT_ID, str(base - 1)))
    log.info("The database was upgraded from schema 2: its events are stored compressed.", extra={"events": moved})


# Schema 3's indexes, dropped before its table is renamed (an index keeps its name across a rename, and the new
# table's would then never be created).
SCHEMA_3_INDEXES = ("events_by_timestamp", "events_by_trace", "events_by_severity", "events_by_source")
COPY_FROM_3 = (
    "INSERT INTO events (id, event_id, timestamp, severity, service, host, trace_id, source_topic, source_partition, "
    "source_offset, content_hash) SELECT e.id, e.event_id, e.timestamp, e.severity, "
    "(SELECT id FROM services WHERE name = e.service), (SELECT id FROM hosts WHERE name = e.host), e.trace_id, "
    "e.source_topic, e.source_partition, e.source_offset, e.content_hash FROM events_schema_3 AS e ORDER BY e.id"
)


def upgrade_from_3(connection: sqlite3.Connection, ddl: str) -> None:
    """Schema 3 -> 4: names interned, `events` rewritten with the same row ids, its indexes built after the copy."""
    from consumer.sinks.sqlite_db import FTS_AUTOMERGE, _statements

    for index in SCHEMA_3_INDEXES:
        connection.execute(f"DROP INDEX IF EXISTS {index}")
    connection.execute("ALTER TABLE events RENAME TO events_schema_3")
    statements = _statements(ddl + FTS_AUTOMERGE)
    indexes = [statement for statement in statements if "CREATE INDEX" in statement]
    for statement in statements:
        if statement not in indexes:
            connection.execute(statement)
    connection.execute("INSERT OR IGNORE INTO services (name) "
                       "SELECT DISTINCT service FROM events_schema_3 WHERE service IS NOT NULL ORDER BY 1")
    connection.execute("INSERT OR IGNORE INTO hosts (name) "
                       "SELECT DISTINCT host FROM events_schema_3 WHERE host IS NOT NULL ORDER BY 1")
    moved = connection.execute(COPY_FROM_3).rowcount
    connection.execute("DROP TABLE events_schema_3")
    for statement in indexes:  # one sort each, cheaper than growing them row by row during the copy
        connection.execute(statement)
    log.info("The database was upgraded from schema 3: service and host names are stored once.",
             extra={"events": moved})


def compact_after_upgrade(connection: sqlite3.Connection) -> None:
    """Give the old layout's pages back (from schema 2 about four fifths of an upgraded file, from schema 3 the old
    `events` table and its indexes, about two fifths) and turn incremental vacuum on, with one VACUUM. It needs free
    space for the new, small copy; without it the file keeps its size and reuses the pages."""
    try:
        connection.execute("PRAGMA auto_vacuum=INCREMENTAL")
        connection.execute("VACUUM")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    except sqlite3.Error as error:
        log.warning("The upgraded database could not be compacted; it reuses its free pages instead.",
                    extra={"error": str(error)})
