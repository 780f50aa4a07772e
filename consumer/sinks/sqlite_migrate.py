"""Schema 1 or 2 -> 3 in place, inside the caller's transaction: the old `events` rows are rewritten into schema 3's
layout (blocks, integer timestamps, topic ids), the FTS table rebuilt from the messages they stored, the old tables
dropped. Row ids change (the order is kept); nothing outside `events` refers to them."""

import logging
import sqlite3

import orjson

from consumer.sinks.sqlite_codec import BlockEncoder
from consumer.sinks.sqlite_rows import Row, Source, insert_chunk, insert_topics, pack, timestamp_ns, trace_bytes

log = logging.getLogger(__name__)

READ_CHUNK = 20_000


def upgrade_to_3(connection: sqlite3.Connection, ddl: str) -> None:
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
    log.info("The database was upgraded to schema 3: its events are stored compressed.", extra={"events": moved})


def compact_after_upgrade(connection: sqlite3.Connection) -> None:
    """Give the old layout's pages back (about four fifths of an upgraded file) and turn incremental vacuum on, with
    one VACUUM. It needs free space for the new, small copy; without it the file keeps its size and reuses the pages."""
    try:
        connection.execute("PRAGMA auto_vacuum=INCREMENTAL")
        connection.execute("VACUUM")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    except sqlite3.Error as error:
        log.warning("The upgraded database could not be compacted; it reuses its free pages instead.",
                    extra={"error": str(error)})
