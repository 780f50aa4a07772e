"""The SQLite database layout and how it is opened (WAL, owner-only file).

Layout, schema 4 (bytes per event measured with `dbstat` on bench/consume_throughput.py's corpus, bench/README.md:
305 in pages at schema 3, 271 at schema 4, the file 1.61x -> 1.43x the raw lines):
- `events`: one row per event, only what search filters and orders by and what exactly-once needs: `event_id` (the
  16 bytes of the id, stream hash then offset, under UNIQUE), `timestamp` as integer nanoseconds since the epoch
  (8 bytes instead of 30 of text, in the row and in `events_by_timestamp`), severity, service and host as ids into
  `services` and `hosts` (consumer/sinks/sqlite_names.py: each name stored once, the row and its `events_by_source`
  entry ~16 and ~18 bytes smaller on the bench corpus, more with real fqdns), `trace_id` (16 bytes, NULL without one;
  `events_by_trace` is partial, so untraced events cost it nothing), the source topic (an id into `topics`),
  partition and offset, and `content_hash`, NULL until a re-send makes the index compare it. Per event on the bench
  corpus: `events` 46.6 bytes, its UNIQUE index 27.6, `events_by_source` 23.7, `events_by_severity` 21.0,
  `events_by_timestamp` 18.8.
- `blocks`: the events' JSON exactly as received, zstd-compressed in blocks sized to fill a page
  (consumer/sinks/sqlite_codec.py; 70.6 bytes per event); no second copy of the text anywhere (schema 2 kept the
  message in `events` and the whole event beside it).
- `events_fts`: a contentless FTS5 table (`content=''`, `columnsize=0`) over the message, filled once per chunk
  with INSERT ... SELECT; it keeps only the inverted index (62.3 bytes per event). Deleting from it (retention)
  gives the same text again, taken from the stored event. `automerge` is 16 instead of 4: segments of one level are
  merged once 16 of them exist, so a batch's segment is rewritten fewer times; `crisismerge` is 64, so those merges
  are incremental (see FTS_AUTOMERGE).
- `offsets`: (topic, partition) -> next offset, written in the same transaction as the rows.
- `dead_letters`: records the index cannot take, with the raw bytes.
- `conflicts`: an `event_id` that arrived again with different content (`consumer.content`): the version the index
  keeps (the first) and the other one, each with its topic, partition and offset; one row per distinct other version.
- `meta`: the schema version, and `last_event_id`, the highest row id ever given (ids are never reused, so a
  reader's cached block cannot be another block under the same id after retention emptied the table).

Migrations: `create_schema` upgrades an older file in place, in one transaction: schema 1 and 2 files have their
rows rewritten into the current layout (blocks, integer timestamps, interned names, the FTS table rebuilt from the
stored messages), the old tables dropped; a schema 3 file has its `events` table copied with the names interned and
the same row ids (blocks and FTS entries untouched) and its indexes built again; then one VACUUM gives the old pages
back and turns incremental vacuum on (sqlite_migrate).

New files: pages of 16 KiB (each WAL frame is one write() plus a header and checksum: 4 KiB pages cost three times the
commit CPU), `auto_vacuum=INCREMENTAL` (retention hands pages back in small steps). The sink's own connection has no
automatic checkpoints: consumer/sinks/sqlite_checkpoint.py checkpoints on a thread of its own, off the write path, and
restarts the WAL once it holds WAL_CHECKPOINT_BYTES, so a backfill cannot grow it without bound; the WAL file is cut
back to `journal_size_limit` when it restarts. Other connections (readers) keep SQLite's automatic checkpoint.
"""

import os
import sqlite3
import sys
from pathlib import Path

SCHEMA_VERSION = 4
PAGE_SIZE = 16_384  # for new database files
WAL_CHECKPOINT_BYTES = 64 * 1_048_576

DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS topics (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS services (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS hosts (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    event_id BLOB NOT NULL UNIQUE,
    timestamp INTEGER NOT NULL,
    severity INTEGER NOT NULL,
    service INTEGER,
    host INTEGER,
    trace_id BLOB,
    source_topic INTEGER,
    source_partition INTEGER,
    source_offset INTEGER,
    content_hash BLOB
);
CREATE INDEX IF NOT EXISTS events_by_timestamp ON events (timestamp);
CREATE INDEX IF NOT EXISTS events_by_trace ON events (trace_id) WHERE trace_id IS NOT NULL;
-- The console's counts (consumer/sinks/sqlite_reader_facets.py): levels and the histogram, services and hosts.
CREATE INDEX IF NOT EXISTS events_by_severity ON events (severity, timestamp);
CREATE INDEX IF NOT EXISTS events_by_source ON events (service, host, severity, timestamp);
CREATE TABLE IF NOT EXISTS blocks (id INTEGER PRIMARY KEY, slots INTEGER NOT NULL, data BLOB NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS events_fts USING fts5(
    message, content='', columnsize=0, tokenize='unicode61 remove_diacritics 2'
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
# When `deadletters redrive` published a dead letter again (NULL: never); added to older tables in place.
DEAD_LETTERS_COLUMNS = (("redriven_at", "TEXT"),)
# Stored in events_fts's own config table. `crisismerge` 64 instead of 16: with both at 16, a level reaching 16
# segments was merged whole inside the commit that wrote its 16th (FTS5's crisis merge, before the incremental
# automerge had begun), and that cascaded: every 256th flush merged 256 flushes' segments at once (~370 ms of CPU at
# 1,500 rows a flush, against 17 ms for the others; every 4,096th would merge 16 times that). At 64 the merges of 16
# segments run incrementally, a little work per commit: the most CPU a flush took fell to 43 ms, the total CPU the
# same (bench/README.md, "Freshness").
FTS_AUTOMERGE = (
    "INSERT INTO events_fts (events_fts, rank) VALUES ('automerge', 16);"
    "INSERT INTO events_fts (events_fts, rank) VALUES ('crisismerge', 64);"
)
LAST_EVENT_ID = "last_event_id"


def connect(path: str, *, create: bool, autocheckpoint: bool = True) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, synchronous=NORMAL.

    With `create`, a missing file is created first with mode 0600: logs may hold secrets. Without `autocheckpoint`,
    its commits never checkpoint the WAL (the sink's connection: its Checkpointer does it on another thread).
    Raises sqlite3.Error or OSError when the file cannot be opened.
    """
    file = Path(path)
    if create:
        file.parent.mkdir(parents=True, exist_ok=True)
        if not file.exists():
            os.close(os.open(file, os.O_CREAT | os.O_WRONLY, 0o600))
    elif not file.exists():
        raise FileNotFoundError(f"the database {path} does not exist (run the consumer first)")
    connection = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    if create and file.stat().st_size == 0:
        # Only an empty file takes these, before WAL mode and the first table.
        connection.execute(f"PRAGMA page_size={PAGE_SIZE}")
        connection.execute("PRAGMA auto_vacuum=INCREMENTAL")
    connection.execute("PRAGMA journal_mode=WAL")
    # NORMAL: a crash of the process loses nothing; a power cut may lose the last transactions, rows and offsets
    # together, which the consumer then reads again from Kafka.
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA cache_size=-65536")
    # Checkpoint every 64 MiB of WAL instead of 4 MiB: pages written by many batches (index interiors, FTS
    # segments) are copied back once, not once per batch (about 10% less CPU per event, measured).
    (page_size,) = connection.execute("PRAGMA page_size").fetchone()
    pages = WAL_CHECKPOINT_BYTES // int(page_size) if autocheckpoint else 0
    connection.execute(f"PRAGMA wal_autocheckpoint={pages}")
    # A checkpoint that restarts the WAL truncates its file back to this size: without it the file stays as large as
    # it ever grew (77 MB after a backfill while a reader held the WAL).
    connection.execute(f"PRAGMA journal_size_limit={WAL_CHECKPOINT_BYTES}")
    connection.execute("PRAGMA temp_store=MEMORY")
    return connection


def create_schema(connection: sqlite3.Connection) -> None:
    """Create the tables, or upgrade an older database to SCHEMA_VERSION, in one transaction."""
    connection.execute("BEGIN IMMEDIATE")
    upgraded = False
    try:
        layout = layout_version(connection)
        if layout < 3:
            from consumer.sinks.sqlite_migrate import upgrade_from_2

            upgrade_from_2(connection, DDL)
            upgraded = True
        elif layout < SCHEMA_VERSION:
            from consumer.sinks.sqlite_migrate import upgrade_from_3

            upgrade_from_3(connection, DDL)
            upgraded = True
        else:
            for statement in _statements(DDL + FTS_AUTOMERGE):
                connection.execute(statement)
        present = {row[1] for row in connection.execute("PRAGMA table_info(dead_letters)")}
        for name, kind in DEAD_LETTERS_COLUMNS:
            if name not in present:
                connection.execute(f"ALTER TABLE dead_letters ADD COLUMN {name} {kind}")
        connection.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = "
            "excluded.value WHERE CAST(meta.value AS INTEGER) < CAST(excluded.value AS INTEGER)",
            (str(SCHEMA_VERSION),),
        )
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    if upgraded:
        from consumer.sinks.sqlite_migrate import compact_after_upgrade

        compact_after_upgrade(connection)
    # The WAL and shared-memory files inherit the database's mode from SQLite; keep the main file owner-only too.
    # Not on Windows: there chmod only sets the read-only flag (the directory's ACL decides who reads the files), and
    # it opens the shared-memory file, which SQLite holds without delete sharing (Wine refuses: winerror 32).
    if sys.platform == "win32":
        return
    for suffix in ("", "-wal", "-shm"):
        try:
            os.chmod(connection_path(connection) + suffix, 0o600)
        except FileNotFoundError:
            pass


def layout_version(connection: sqlite3.Connection) -> int:
    """The layout of the file's `events` table: 4 (SCHEMA_VERSION) for schema 4's or none yet (empty), 3 for schema 3's
    (service and host as text), else 2 (schema 1 and 2 share the `events` layout that upgrade_from_2 rewrites)."""
    columns = {str(row[1]): str(row[2]).upper() for row in connection.execute("PRAGMA table_info(events)")}
    if "event" in columns:
        return 2
    if columns.get("service", "INTEGER") != "INTEGER":
        return 3
    return SCHEMA_VERSION


def _statements(script: str) -> list[str]:
    """The statements of a DDL script (none of ours has a ';' inside a statement)."""
    return [part.strip() for part in script.split(";") if part.strip()]


def connection_path(connection: sqlite3.Connection) -> str:
    row = connection.execute("PRAGMA database_list").fetchone()
    return str(row[2])


def fts_rows(connection: sqlite3.Connection) -> int:
    """The number of rows events_fts indexes. A contentless table without column sizes cannot be scanned (count(*)
    fails); FTS5 keeps the number in its averages record (id 1 of `events_fts_data`), the first varint."""
    found = connection.execute("SELECT block FROM events_fts_data WHERE id = 1").fetchone()
    if found is None or not found[0]:
        return 0
    value = 0
    for position, byte in enumerate(bytes(found[0])[:9]):
        if position == 8:
            return (value << 8) | byte
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            break
    return value
