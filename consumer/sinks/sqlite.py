"""The SQLite sink (the default): rows, dead letters and offsets of a batch in one transaction.

Exactly once under kill -9 at any point: a batch's rows and its partitions' next offsets commit together, and on
assignment the worker resumes each partition at the offset stored here. A record delivered twice is skipped by the
UNIQUE event_id. Each flush compares the stored offsets with the values this member last read or wrote
(compare-and-set under the write lock): a partition another member has written since is left out of the
transaction and reported as a conflict, so a member that lost a partition cannot move it.

A full disk (SQLITE_FULL), a busy database or an I/O error fails the flush as retriable: the transaction rolls
back, nothing moves, and the batch stays buffered for the next attempt.

A flush never checkpoints the WAL: the sink's connection has automatic checkpoints off, and a Checkpointer
(consumer/sinks/sqlite_checkpoint.py) does them on a thread and connection of its own, poked after each commit.
"""

import logging
import sqlite3
import time
from collections.abc import Iterable

import orjson

from consumer.config import ConsumerConfig
from consumer.content import content_hash
from consumer.records import Batch, DeadLetter, TopicPartitionKey
from consumer.sinks import sqlite_db
from consumer.sinks.base import FlushResult, IndexReader, PublishDeadLetters, Sink, SinkError
from consumer.sinks.settings import settings_as
from consumer.sinks.sqlite_checkpoint import Checkpointer
from consumer.sinks.sqlite_codec import BlockEncoder, StoredEvents
from consumer.sinks.sqlite_db import LAST_EVENT_ID, connect, create_schema
from consumer.sinks.sqlite_retention import Retention
from consumer.sinks.sqlite_rows import Packed, chunk_size, event_row, insert_chunk, insert_topics, pack
from consumer.sinks.sqlite_settings import SqliteSettings

log = logging.getLogger(__name__)

BEGINNING = -2  # librdkafka's OFFSET_BEGINNING: where a partition with no stored offset starts
_UNREAD = object()

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
# After a chunk was inserted: its rows whose event_id the index holds under another row (a re-send, or the same id
# twice in the chunk), by position in the chunk. ?2 is a JSON array [0, 1, ..., n-1], ?3 the chunk's first id.
RESENT = (
    "SELECT j.value, e.id, e.content_hash, t.name, e.source_partition, e.source_offset "
    "FROM json_each(?2) AS j JOIN events AS e ON e.event_id = substr(?1, j.value * 16 + 1, 16) "
    "LEFT JOIN topics AS t ON t.id = e.source_topic WHERE e.id != ?3 + j.value"
)
INSERT_CONFLICT = (
    "INSERT OR IGNORE INTO conflicts (event_id, content_hash, kept_event, kept_topic, kept_partition, kept_offset, "
    "rejected_event, rejected_topic, rejected_partition, rejected_offset) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
MAINTENANCE_INTERVAL = 1.0  # seconds between retention turns


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

    def __init__(self, path: str, publish: PublishDeadLetters, retention: Retention | None = None) -> None:
        self._path = path
        self._encoder = BlockEncoder()
        self._retention = retention or Retention()
        self._maintained_at = 0.0
        self._publish = publish
        self._connection: sqlite3.Connection | None = None
        self._checkpointer: Checkpointer | None = None
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
            self._connection = connect(self._path, create=True, autocheckpoint=False)
            create_schema(self._connection)
            (page_size,) = self._connection.execute("PRAGMA page_size").fetchone()
            self._encoder = BlockEncoder(int(page_size))
            self._checkpointer = Checkpointer(self._path, page_size=int(page_size),
                                              restart_bytes=sqlite_db.WAL_CHECKPOINT_BYTES)
            self._checkpointer.start()
            self._checkpointer.poke()  # whatever the schema's creation or an earlier run left in the WAL
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
            self._packed.extend(pack(batch.items, batch.sources, self._encoder))
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
        started = time.monotonic()
        batch = self._pending
        if not batch.next_offsets:
            self._maintain_if_due()
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
                chunks = packed if packed is not None else pack(batch.items, batch.sources, self._encoder)
                base = self._next_id()
                inserted = 0
                recorded = 0
                if chunks:
                    insert_topics(connection, {source[0] for source in batch.sources})
                start = 0
                for chunk in chunks:
                    count = chunk_size(chunk)
                    done = insert_chunk(connection, chunk, base)
                    inserted += done
                    if done < count:
                        # Rows not inserted are re-sends: the same content (a duplicate, as always) or a conflict.
                        recorded += self._record_conflicts(chunk, base, batch, start)
                    base += count
                    start += count
                connection.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (LAST_EVENT_ID, str(base - 1)))
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
        if self._checkpointer is not None:
            self._checkpointer.poke()
            self._checkpointer.bound(connection)
        self._expected.update(batch.next_offsets)
        for tp, offset in conflicts.items():
            self._expected[tp] = None if offset == BEGINNING else offset
        self._maintain_if_due(time.monotonic() - started)
        return FlushResult(
            durable=dict(batch.next_offsets), conflicts=conflicts, indexed=inserted,
            duplicates=len(batch.items) - inserted - recorded, dead_letters=len(batch.dead_letters),
            id_conflicts=recorded,
        )

    def _next_id(self) -> int:
        """The first row id of this flush: above every id ever given (see sqlite_db, `last_event_id`)."""
        (last,) = self.connection.execute(
            "SELECT max(coalesce((SELECT max(id) FROM events), 0), "
            "coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?), 0))", (LAST_EVENT_ID,)
        ).fetchone()
        return int(last) + 1

    def _record_conflicts(self, chunk: Packed, base: int, batch: Batch, start: int) -> int:
        """Inside the flush's transaction: record each row of `chunk` (rows `start`.. of `batch`, ids from `base`)
        whose event_id the index holds with other content (the index keeps its first version); the number of
        conflicts recorded for the first time."""
        connection = self.connection
        ids = chunk[0]
        count = chunk_size(chunk)
        stored_events = StoredEvents(connection)
        recorded = 0
        first_id: bytes | None = None
        found = connection.execute(RESENT, (ids, orjson.dumps(list(range(count))), base)).fetchall()
        for key, row_id, hashed, topic, partition, offset in found:
            row = batch.items[start + key]
            stored_event = stored_events.get(int(row_id))
            if stored_event is None:
                continue
            stored_hash = hashed
            if stored_hash is None:
                # Hashed only once a re-send needs it: keep it for the next comparison.
                stored_hash = content_hash(orjson.loads(stored_event))
                connection.execute("UPDATE events SET content_hash = ? WHERE id = ?", (stored_hash, row_id))
            new_hash = content_hash(orjson.loads(row[7]))
            if new_hash == stored_hash:
                continue
            source = batch.sources[start + key]
            cursor = connection.execute(
                INSERT_CONFLICT, (row[0], new_hash, stored_event, topic, partition, offset, row[7], *source)
            )
            if cursor.rowcount:
                recorded += 1
                first_id = first_id or row[0]
        if recorded:
            log.warning(
                "Events arrived again under an event_id the index holds with different content; the index keeps the "
                "first version and the conflicts table has both.",
                extra={"conflicts": recorded, "event_id": first_id.hex() if first_id else None},
            )
        return recorded

    def maintain(self, flush_seconds: float = 0.0) -> None:
        """One bounded turn of retention and WAL upkeep, now (the worker may call it while idle). A turn may take as
        long as the flush before it (`flush_seconds`), at least the retention's own budget: deleting costs about what
        writing did, so in steady state expiry keeps up with ingest at up to half the writer thread."""
        self._maintained_at = time.monotonic()
        try:
            if self._retention.turn(self.connection, flush_seconds):
                self._maintained_at = 0.0  # expired rows remain: the next turn right after the next flush
        except sqlite3.Error as error:
            # Retention is upkeep: a busy or full database postpones it, it never fails a flush.
            log.warning("A retention turn failed; it is tried again later.", extra={"error": str(error)})
        if self._checkpointer is not None:
            self._checkpointer.poke()  # what the turn deleted

    def _maintain_if_due(self, flush_seconds: float = 0.0) -> None:
        if time.monotonic() - self._maintained_at >= MAINTENANCE_INTERVAL:
            self.maintain(flush_seconds)

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

    @property
    def checkpointer(self) -> Checkpointer | None:
        return self._checkpointer

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def open_sink(config: ConsumerConfig, publish: PublishDeadLetters) -> Sink:
    settings = settings_as(config.sink, SqliteSettings)
    return SqliteSink(settings.path, publish, Retention(settings.retention, settings.deadletter_retention))


def open_reader(config: ConsumerConfig) -> IndexReader:
    from consumer.sinks.sqlite_reader import SqliteReader

    return SqliteReader(settings_as(config.sink, SqliteSettings).path)
