"""Retention for the SQLite index: expired events and dead letters deleted in small transactions between flushes,
free pages handed back in small steps (the WAL is the checkpointer's: consumer/sinks/sqlite_checkpoint.py).

Events expire by their own `timestamp` (the time the line says it was written), as daily indices named by event
date age out in Elasticsearch/OpenSearch: an operator who keeps "14 days" means 14 days of logs. A backfill of
lines older than the retention is therefore deleted soon after it is written. Dead letters expire by the time they
were received (`received_at`): they may have no valid timestamp of their own. Offsets are never touched.

Each turn runs delete transactions of at most `rows_per_turn` rows each (the write lock is never held for more than
one of them) for at most `turn_seconds` (default 50 ms) or as long as the flush before it took, whichever is longer;
while expired rows remain, the sink runs the next turn right after its next flush instead of a second later, so in
steady state expiry keeps pace with ingest at up to half of the writer thread's time.
An expired event's full-text entry is deleted with the same text it was indexed
with (the contentless FTS5 table needs it), taken from the stored event; a block is deleted once none of its rows
is left. Freed pages are first reused by new rows; beyond FREE_PAGES_KEPT of them, `incremental_vacuum` gives the
rest back to the file system, VACUUM_STEP pages per turn (a file whose upgrade could not VACUUM has no auto_vacuum
and only reuses them).
"""

import sqlite3
import time
from collections.abc import Callable

import orjson

from consumer.sinks.sqlite_codec import StoredEvents
from consumer.sinks.sqlite_rows import DELETE_EMPTY_BLOCK, message_of

FREE_PAGES_KEPT = 1024  # 16 MiB of 16 KiB pages for the next rows
VACUUM_STEP = 256
MERGE_PAGES = 256
_NS = 1_000_000_000
DELETE_FTS = "INSERT INTO events_fts (events_fts, rowid, message) VALUES ('delete', ?, ?)"
DELETE_DEAD_LETTERS = (
    "DELETE FROM dead_letters WHERE (topic, partition, offset) IN (SELECT topic, partition, offset FROM dead_letters "
    "WHERE received_at < strftime('%Y-%m-%dT%H:%M:%fZ', ?, 'unixepoch') LIMIT ?)"
)


class Retention:
    """What expires and how much work one turn may do; `turn` is called by the sink between flushes."""

    def __init__(self, events_seconds: float = 0.0, dead_letter_seconds: float = 0.0, *, rows_per_turn: int = 2_000,
                 turn_seconds: float = 0.05, free_pages_kept: int = FREE_PAGES_KEPT,
                 clock: Callable[[], int] = time.time_ns) -> None:
        self.events_seconds = events_seconds
        self.clock = clock  # nanoseconds since the epoch: what "now" is for expiry
        self.free_pages_kept = free_pages_kept
        self.dead_letter_seconds = dead_letter_seconds
        self.rows_per_turn = rows_per_turn
        self.turn_seconds = turn_seconds
        self._deleted_since_merge = 0

    def turn(self, connection: sqlite3.Connection, budget_seconds: float = 0.0) -> bool:
        """One bounded turn of at most max(turn_seconds, `budget_seconds`) of delete transactions; whether expired
        rows remain (the caller runs the next turn soon)."""
        now = self.clock()
        deadline = time.monotonic() + max(self.turn_seconds, budget_seconds)
        behind = False
        if self.events_seconds > 0:
            cutoff = now - int(self.events_seconds * _NS)
            while True:
                deleted = self._delete_events(connection, cutoff)
                if deleted < self.rows_per_turn:
                    break
                if time.monotonic() >= deadline:
                    behind = True
                    break
        if self.dead_letter_seconds > 0:
            cutoff_s = now / _NS - self.dead_letter_seconds
            while True:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    deleted = connection.execute(DELETE_DEAD_LETTERS, (cutoff_s, self.rows_per_turn)).rowcount
                    connection.execute("COMMIT")
                except BaseException:
                    if connection.in_transaction:
                        connection.execute("ROLLBACK")
                    raise
                if deleted < self.rows_per_turn:
                    break
                if time.monotonic() >= deadline:
                    behind = True
                    break
        if self._deleted_since_merge:
            self._merge_step(connection)
        self._vacuum_step(connection)
        return behind

    def _delete_events(self, connection: sqlite3.Connection, cutoff_ns: int) -> int:
        """Delete up to rows_per_turn events older than `cutoff_ns` in one transaction; how many."""
        connection.execute("BEGIN IMMEDIATE")
        try:
            ids = [int(row[0]) for row in connection.execute(
                "SELECT id FROM events WHERE timestamp < ? ORDER BY timestamp LIMIT ?", (cutoff_ns, self.rows_per_turn)
            )]
            if ids:
                stored = StoredEvents(connection)
                texts = []
                blocks: set[int] = set()
                for row_id in ids:
                    located = stored.locate(row_id)
                    if located is None:
                        continue
                    block_id, raw = located
                    blocks.add(block_id)
                    texts.append((row_id, message_of(orjson.loads(raw))))
                connection.executemany(DELETE_FTS, texts)
                connection.execute("DELETE FROM events WHERE id IN (SELECT value FROM json_each(?))", (orjson.dumps(ids),))
                connection.executemany(DELETE_EMPTY_BLOCK, [(block_id,) for block_id in sorted(blocks)])
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        self._deleted_since_merge += len(ids)
        return len(ids)

    def _merge_step(self, connection: sqlite3.Connection) -> None:
        """Some pages of work towards one FTS5 segment. A contentless table's delete is a tombstone in a new segment;
        only a merge into the oldest segment drops the entry and its tombstone, and automerge alone never gets there
        (the index grew by each day's deletions, measured). `merge` with a negative count merges every segment,
        MERGE_PAGES pages per turn, so the write lock is held briefly."""
        connection.execute("BEGIN IMMEDIATE")
        try:
            before = connection.total_changes
            connection.execute("INSERT INTO events_fts (events_fts, rank) VALUES ('merge', ?)", (-MERGE_PAGES,))
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        if connection.total_changes - before <= 1:
            self._deleted_since_merge = 0  # nothing left to merge

    def _vacuum_step(self, connection: sqlite3.Connection) -> None:
        (mode,) = connection.execute("PRAGMA auto_vacuum").fetchone()
        if int(mode) != 2:
            return
        (free,) = connection.execute("PRAGMA freelist_count").fetchone()
        excess = int(free) - self.free_pages_kept
        if excess > 0:
            connection.execute(f"PRAGMA incremental_vacuum({min(excess, VACUUM_STEP)})").fetchall()
