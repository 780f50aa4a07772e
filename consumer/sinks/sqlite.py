"""The SQLite sink (the default): rows, dead letters and offsets of a batch in one transaction.

Exactly once under kill -9 at any point: a batch's rows and its partitions' next offsets commit together, and on
assignment the worker resumes each partition at the offset stored here. A record delivered twice is skipped by the
UNIQUE event_id. Each flush compares the stored offsets with the values this member last read or wrote
(compare-and-set under the write lock): a partition another member has written since is left out of the
transaction and reported as a conflict, so a member that lost a partition cannot move it.

A full disk (SQLITE_FULL), a busy database or an I/O error fails the flush as retriable: the transaction rolls
back, nothing moves, and the batch stays buffered for the next attempt.
"""

import logging
import sqlite3
from collections.abc import Iterable
from typing import Any

import orjson

from consumer.config import ConsumerConfig
from consumer.content import HASH_BYTES, content_hash
from consumer.records import Batch, DeadLetter, TopicPartitionKey
from consumer.sinks.base import FlushResult, IndexReader, PublishDeadLetters, Sink, SinkError
from consumer.sinks.settings import settings_as
from consumer.sinks.sqlite_db import connect, create_schema
from consumer.sinks.sqlite_settings import SqliteSettings

log = logging.getLogger(__name__)

BEGINNING = -2  # librdkafka's OFFSET_BEGINNING: where a partition with no stored offset starts
_UNREAD = object()

INSERT_EVENT = (
    "INSERT OR IGNORE INTO events (event_id, timestamp, severity, service, host, file_path, message, event, content_hash, "
    "source_topic, source_partition, source_offset) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_DEAD_LETTER = (
    "INSERT OR IGNORE INTO dead_letters (topic, partition, offset, error, size, key, raw) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
UPSERT_OFFSET = (
    "INSERT INTO offsets (topic, partition, next_offset) VALUES (?, ?, ?) "
    "ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset, "
    "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
)
# Offsets of a batch in one statement: a JSON array of [topic, partition, next_offset].
UPSERT_OFFSETS = (
    "INSERT INTO offsets (topic, partition, next_offset) SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?) "
    "WHERE true ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset, "
    "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
)
# A batch's rows in one statement: per-row executemany releases and re-takes the GIL for every row, and while the main
# thread decodes the next batch each re-take waits for its switch interval. The ids, content hashes and raw events
# travel as three concatenated blobs (substr of a blob is a blob); the text columns as one JSON array of
# [timestamp, severity, service, host, file_path, message, raw start, raw length, topic, partition, offset] in the
# batch's order.
INSERT_EVENTS = (
    "INSERT OR IGNORE INTO events (event_id, timestamp, severity, service, host, file_path, message, event, content_hash, "
    "source_topic, source_partition, source_offset) "
    "SELECT substr(?1, key * 16 + 1, 16), value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, "
    "value ->> 5, substr(?2, value ->> 6, value ->> 7), substr(?4, key * 16 + 1, 16), value ->> 8, value ->> 9, "
    "value ->> 10 FROM json_each(?3)"
)
# After a chunk was inserted: its rows whose event_id the index holds with another content hash (or none, a row
# written before schema 2), by position in the chunk. ?2 is a JSON array [0, 1, ..., n-1].
DIFFERENT_CONTENT = (
    "SELECT j.value, e.content_hash, e.event, e.source_topic, e.source_partition, e.source_offset "
    "FROM json_each(?2) AS j JOIN events AS e ON e.event_id = substr(?1, j.value * 16 + 1, 16) "
    "WHERE e.content_hash IS NOT substr(?3, j.value * 16 + 1, 16)"
)
INSERT_CONFLICT = (
    "INSERT OR IGNORE INTO conflicts (event_id, content_hash, kept_event, kept_topic, kept_partition, kept_offset, "
    "rejected_event, rejected_topic, rejected_partition, rejected_offset) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# No ORDER BY: json_each yields the elements in array order anyway, and SQLite cannot know it, so ORDER BY key sorted
# every row (all its values, the raw event included) through a temporary B-tree first (~4.5k instructions per event).
# The order only decides the rowids; nothing relies on it (FTS takes every id above the batch's first).
# Rows per INSERT_EVENTS statement: a whole batch at the default batch_max_events (about 10 MiB of packed parameters),
# so a flush re-takes the GIL a handful of times, not once per chunk.
INSERT_CHUNK = 20_000
_EXCEPTION_KEYS = ("exception.type", "exception.message", "exception.stacktrace")
_EXCEPTION_KEY_SET = frozenset(_EXCEPTION_KEYS)


def event_row(event: dict[str, Any], raw: bytes) -> tuple[Any, ...]:
    """The `events` row of a valid event without its source (hot path): the columns up to `event`, then the
    content hash. `pack` adds the source topic, partition and offset."""
    body = event["body"]
    message = body if type(body) is str else orjson.dumps(body).decode()
    attributes = event["attributes"]
    if not _EXCEPTION_KEY_SET.isdisjoint(attributes):
        extra = [str(attributes[k]) for k in _EXCEPTION_KEYS if attributes.get(k)]
        message = "\n".join([message, *extra])
    resource = event["resource"]
    service = resource.get("service.name")
    host = resource.get("host.name")
    path = attributes.get("log.file.path")
    return (
        bytes.fromhex(event["event_id"]),
        event["timestamp"],
        event["severity_number"],
        service if service is None or type(service) is str else str(service),
        host if host is None or type(host) is str else str(host),
        path if path is None or type(path) is str else str(path),
        message,
        raw,
        content_hash(event),
    )


# INSERT_EVENTS's parameters for a chunk of rows (ids, raws, texts, hashes), plus the rows with their sources when the
# chunk must go row by row.
Packed = tuple[bytes, bytes, bytes, bytes, "list[tuple[Any, ...]] | None"]
Source = tuple[str, int, int]


def _packed(rows: list[tuple[Any, ...]], sources: list[Source]) -> tuple[bytes, bytes, bytes, bytes]:
    """The parameters of INSERT_EVENTS for `rows` (event_row tuples) and their `sources`."""
    texts = []
    start = 1
    for row, (topic, partition, offset) in zip(rows, sources, strict=True):
        length = len(row[7])
        texts.append((row[1], row[2], row[3], row[4], row[5], row[6], start, length, topic, partition, offset))
        start += length
    return (b"".join([row[0] for row in rows]), b"".join([row[7] for row in rows]), orjson.dumps(texts),
            b"".join([row[8] for row in rows]))


def pack(rows: list[tuple[Any, ...]], sources: list[Source]) -> list[Packed]:
    """`rows` as INSERT_EVENTS chunks, in order. SQLite's JSON functions cut text at an escaped NUL: a chunk with one
    keeps its rows, and goes row by row (INSERT_EVENT) in the same order."""
    chunks: list[Packed] = []
    for start in range(0, len(rows), INSERT_CHUNK):
        part = rows[start:start + INSERT_CHUNK]
        part_sources = sources[start:start + INSERT_CHUNK]
        ids, raws, texts, hashes = _packed(part, part_sources)
        singles = [(*row, *source) for row, source in zip(part, part_sources, strict=True)] if b"\\u0000" in texts else None
        chunks.append((ids, raws, texts, hashes, singles))
    return chunks


def retriable(error: sqlite3.Error) -> bool:
    """Whether trying the same write again may succeed: full disk, busy or locked database, I/O errors."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is None:
        return isinstance(error, sqlite3.OperationalError)
    primary = code & 0xFF
    return primary in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR,
                       sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_NOMEM)


class SqliteSink(Sink):
    """Writes batches into one SQLite database file; owns the offsets."""

    owns_offsets = True

    def __init__(self, path: str, publish: PublishDeadLetters) -> None:
        self._path = path
        self._publish = publish
        self._connection: sqlite3.Connection | None = None
        self._pending = Batch()
        # INSERT_EVENTS chunks of `_pending`'s rows, built by add() on the worker's main thread so that the writer
        # thread runs (almost) no Python: each time it wants the GIL back it waits for the decoding thread. None after
        # drop() removed rows: flush() packs again.
        self._packed: list[Packed] | None = []
        # The batch written last: released by the next add(), on the main thread, for the same reason.
        self._written: Batch | None = None
        self._unpublished: list[DeadLetter] = []
        # The stored offset this member last read or wrote per partition: the "expected" side of compare-and-set.
        self._expected: dict[TopicPartitionKey, int | None] = {}

    def setup(self) -> None:
        try:
            self._connection = connect(self._path, create=True)
            create_schema(self._connection)
        except (sqlite3.Error, OSError) as error:
            raise SinkError(f"cannot open the SQLite database {self._path}: {error}", retriable=False) from error

    @property
    def connection(self) -> sqlite3.Connection:
        if self._connection is None:
            raise SinkError("the SQLite sink is not set up", retriable=False)
        return self._connection

    # The function itself, not a method calling it: one interpreted call less per event.
    prepare = staticmethod(event_row)

    def stored_offsets(self, partitions: Iterable[TopicPartitionKey]) -> dict[TopicPartitionKey, int]:
        found: dict[TopicPartitionKey, int] = {}
        for topic, partition in partitions:
            row = self.connection.execute(
                "SELECT next_offset FROM offsets WHERE topic = ? AND partition = ?", (topic, partition)
            ).fetchone()
            self._expected[(topic, partition)] = None if row is None else int(row[0])
            if row is not None:
                found[(topic, partition)] = int(row[0])
        return found

    def add(self, batch: Batch) -> None:
        self._written = None
        if self._packed is not None:
            self._packed.extend(pack(batch.items, batch.sources))
        self._pending.extend(batch)
        self._unpublished.extend(batch.dead_letters)

    def buffered(self) -> int:
        return len(self._pending)

    def drop(self, partitions: Iterable[TopicPartitionKey]) -> None:
        gone = set(partitions)
        kept = self._pending.without(gone)
        if kept is not self._pending:
            self._pending, self._packed = kept, None
        self._unpublished = [d for d in self._unpublished if (d.topic, d.partition) not in gone]
        for tp in gone:
            self._expected.pop(tp, None)

    def flush(self) -> FlushResult:
        batch = self._pending
        if not batch.next_offsets:
            return FlushResult()
        if self._unpublished:
            # The dead-letter topic first: a crash after it publishes them again (at least once there), never zero times.
            self._publish(self._unpublished)
            self._unpublished = []
        connection = self.connection
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                conflicts = self._conflicts(batch.next_offsets)
                packed = self._packed
                if conflicts:
                    batch = batch.without(conflicts)
                    packed = None
                (last_id,) = connection.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()
                inserted = 0
                chunks = packed if packed is not None else pack(batch.items, batch.sources)
                for ids, raws, texts, hashes, rows in chunks:
                    if rows is not None:
                        inserted += connection.executemany(INSERT_EVENT, rows).rowcount
                    else:
                        inserted += connection.execute(INSERT_EVENTS, (ids, raws, texts, hashes)).rowcount
                # Rows not inserted are re-sends: the same content (a duplicate, as always) or a conflict.
                recorded = self._record_conflicts(chunks, batch) if inserted < len(batch.items) else 0
                if inserted:
                    connection.execute(
                        "INSERT INTO events_fts (rowid, message) SELECT id, message FROM events WHERE id > ?", (last_id,)
                    )
                if batch.dead_letters:
                    connection.executemany(
                        INSERT_DEAD_LETTER,
                        [(d.topic, d.partition, d.offset, d.error, d.size, d.key, d.raw) for d in batch.dead_letters],
                    )
                connection.execute(UPSERT_OFFSETS, (orjson.dumps([[t, p, o] for (t, p), o in batch.next_offsets.items()]),))
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as error:
            raise SinkError(f"writing the batch to {self._path} failed: {error}", retriable=retriable(error)) from error
        self._written, self._pending, self._packed = self._pending, Batch(), []
        self._expected.update(batch.next_offsets)
        for tp, offset in conflicts.items():
            self._expected[tp] = None if offset == BEGINNING else offset
        return FlushResult(
            durable=dict(batch.next_offsets), conflicts=conflicts, indexed=inserted,
            duplicates=len(batch.items) - inserted - recorded, dead_letters=len(batch.dead_letters),
            id_conflicts=recorded,
        )

    def _record_conflicts(self, chunks: list[Packed], batch: Batch) -> int:
        """Inside the flush's transaction: record each row of `batch` whose event_id the index holds with other
        content (the index keeps its first version); the number of conflicts recorded for the first time."""
        connection = self.connection
        recorded = 0
        first_id: bytes | None = None
        start = 0
        for ids, _raws, _texts, hashes, _rows in chunks:
            count = len(ids) // HASH_BYTES
            keys = orjson.dumps(list(range(count)))
            found = connection.execute(DIFFERENT_CONTENT, (ids, keys, hashes)).fetchall()
            for key, stored_hash, stored_event, topic, partition, offset in found:
                row = batch.items[start + key]
                if stored_hash is None:
                    # Written before schema 2: hash its stored event now, and keep the hash for the next comparison.
                    computed = content_hash(orjson.loads(stored_event))
                    connection.execute("UPDATE events SET content_hash = ? WHERE event_id = ?", (computed, row[0]))
                    if computed == row[8]:
                        continue
                source = batch.sources[start + key]
                cursor = connection.execute(
                    INSERT_CONFLICT, (row[0], row[8], stored_event, topic, partition, offset, row[7], *source)
                )
                if cursor.rowcount:
                    recorded += 1
                    first_id = first_id or row[0]
            start += count
        if recorded:
            log.warning(
                "Events arrived again under an event_id the index holds with different content; the index keeps the "
                "first version and the conflicts table has both.",
                extra={"conflicts": recorded, "event_id": first_id.hex() if first_id else None},
            )
        return recorded

    def _conflicts(self, next_offsets: dict[TopicPartitionKey, int]) -> dict[TopicPartitionKey, int]:
        """Partitions whose stored offset is no longer what this member expects, with the stored offset."""
        conflicts: dict[TopicPartitionKey, int] = {}
        rows = self.connection.execute("SELECT topic, partition, next_offset FROM offsets")
        stored_offsets = {(topic, partition): int(offset) for topic, partition, offset in rows}
        for tp in next_offsets:
            stored = stored_offsets.get(tp)
            expected = self._expected.get(tp, _UNREAD)
            if expected is _UNREAD or stored != expected:
                conflicts[tp] = BEGINNING if stored is None else stored
                log.warning(
                    "Another member wrote this partition; its records of this batch are left out.",
                    extra={"topic": tp[0], "partition": tp[1], "stored_offset": stored, "expected_offset": expected},
                )
        return conflicts

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def open_sink(config: ConsumerConfig, publish: PublishDeadLetters) -> Sink:
    return SqliteSink(settings_as(config.sink, SqliteSettings).path, publish)


def open_reader(config: ConsumerConfig) -> IndexReader:
    from consumer.sinks.sqlite_reader import SqliteReader

    return SqliteReader(settings_as(config.sink, SqliteSettings).path)
