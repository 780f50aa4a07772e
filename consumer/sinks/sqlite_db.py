"""The SQLite database layout and how it is opened (WAL, owner-only file).

Layout (measured):
- `events`: one row per event; `event_id` is the 16 bytes of the id (stream hash then offset, so a file's
  records have neighbouring keys) under UNIQUE; the filter columns; `message`, the searchable text; `event`,
  the event JSON exactly as received.
- `events_fts`: FTS5 over `message` with `events` as external content, filled once per batch with
  INSERT ... SELECT (a per-row trigger is 4x slower). `automerge` is 16 instead of 4: segments of one level are
  merged once 16 of them exist, so a batch's segment is rewritten fewer times (7-20% more events/s with
  1M events, bench/consume_throughput.py); queries read a few more segments, results are the same.
- `offsets`: (topic, partition) -> next offset, written in the same transaction as the rows.
- `dead_letters`: records the index cannot take, with the raw bytes.
- `conflicts` (schema 2): an `event_id` that arrived again with different content (`consumer.content`): the version
  the index keeps (the first) and the other one, each with its topic, partition and offset; one row per distinct
  other version. `events` carries `content_hash` and the source topic/partition/offset of each row for it.

Migrations: `create_schema` upgrades an older file in place (schema 1 -> 2 adds the `events` columns, NULL in old
rows, and the `conflicts` table); a row without a hash gets one computed from its stored event when it is compared.

Pages are 16 KiB in databases created since (older files keep theirs): each WAL frame is one write() plus a header and
checksum, so a batch committed as 4 KiB pages cost about three times the CPU of the same bytes in 16 KiB pages
(commit ~4.2 -> ~1.3 us/event, inserts ~10% cheaper; bench/consume_throughput.py events, 300k in one thread).
"""

import os
import sqlite3
from pathlib import Path

SCHEMA_VERSION = 2
PAGE_SIZE = 16_384  # for new database files
WAL_CHECKPOINT_BYTES = 64 * 1_048_576

DDL = """
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
# Schema 1 -> 2: the columns a schema 1 `events` table lacks (CREATE TABLE IF NOT EXISTS leaves an old table as it is).
EVENTS_COLUMNS_V2 = (
    ("content_hash", "BLOB"), ("source_topic", "TEXT"), ("source_partition", "INTEGER"), ("source_offset", "INTEGER"),
)
# When `deadletters redrive` published a dead letter again (NULL: never); added to older tables in place.
DEAD_LETTERS_COLUMNS = (("redriven_at", "TEXT"),)
# Stored in events_fts's own config table, so a database created before this setting gets it too.
FTS_AUTOMERGE = "INSERT INTO events_fts (events_fts, rank) VALUES ('automerge', 16);"


def connect(path: str, *, create: bool) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, synchronous=NORMAL.

    With `create`, a missing file is created first with mode 0600: logs may hold secrets.
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
        connection.execute(f"PRAGMA page_size={PAGE_SIZE}")  # only an empty file takes it, before WAL mode
    connection.execute("PRAGMA journal_mode=WAL")
    # NORMAL: a crash of the process loses nothing; a power cut may lose the last transactions, rows and offsets
    # together, which the consumer then reads again from Kafka.
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA cache_size=-65536")
    # Checkpoint every 64 MiB of WAL instead of 4 MiB: pages written by many batches (index interiors, FTS
    # segments) are copied back once, not once per batch (about 10% less CPU per event, measured).
    (page_size,) = connection.execute("PRAGMA page_size").fetchone()
    connection.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_BYTES // int(page_size)}")
    connection.execute("PRAGMA temp_store=MEMORY")
    return connection


def create_schema(connection: sqlite3.Connection) -> None:
    """Create the tables, or upgrade an older database to SCHEMA_VERSION, in one transaction."""
    connection.executescript("BEGIN IMMEDIATE;" + DDL + FTS_AUTOMERGE)
    try:
        present = {row[1] for row in connection.execute("PRAGMA table_info(events)")}
        for name, kind in EVENTS_COLUMNS_V2:
            if name not in present:
                connection.execute(f"ALTER TABLE events ADD COLUMN {name} {kind}")
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
    # The WAL and shared-memory files inherit the database's mode from SQLite; keep the main file owner-only too.
    for suffix in ("", "-wal", "-shm"):
        try:
            os.chmod(connection_path(connection) + suffix, 0o600)
        except FileNotFoundError:
            pass


def connection_path(connection: sqlite3.Connection) -> str:
    row = connection.execute("PRAGMA database_list").fetchone()
    return str(row[2])
