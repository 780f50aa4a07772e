"""Reading the SQLite index: search (FTS5 plus filters, newest first), totals, the oldest event, dead letters (list,
one, mark redriven), and stored offsets for replay."""

import sqlite3
from collections.abc import Iterable
from typing import Any

import orjson

from consumer.records import TopicPartitionKey
from consumer.sinks.base import DeadLetterRecord, IndexReader, SearchQuery
from consumer.sinks.sqlite import UPSERT_OFFSET
from consumer.sinks.sqlite_db import connect, connection_path
from consumer.sinks.sqlite_reader_query import fts_query
from logferry.errors import LogferryError


class SqliteReader(IndexReader):
    """Read access to the database a SQLite sink writes; safe while a worker writes (WAL)."""

    def __init__(self, path: str) -> None:
        self._connection = connect(path, create=False)

    def search(self, query: SearchQuery) -> list[dict[str, Any]]:
        where, params = _filters(query)
        if not query.text.strip():
            sql = f"SELECT event FROM events {where} ORDER BY timestamp DESC, id DESC LIMIT ?"
            return [orjson.loads(row[0]) for row in self._connection.execute(sql, [*params, query.limit])]
        match = fts_query(query.text)
        ids = self._newest_matches(match, where, params, query.limit)
        if ids is None:
            # Few matches among many rows: let FTS5 list them all, then order by time.
            sql = (f"SELECT id FROM events {where}{' AND' if where else 'WHERE'} "
                   "id IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?) ORDER BY timestamp DESC, id DESC LIMIT ?")
            ids = [row[0] for row in self._connection.execute(sql, [*params, match, query.limit])]
        return [self._event(i) for i in ids]

    def _newest_matches(self, match: str, where: str, params: list[Any], limit: int) -> list[int] | None:
        """The ids of the `limit` newest matching rows, found by walking the rows newest first in growing windows and
        asking FTS5 only about each window's id range; None when the matches are too sparse for that to pay.

        Exact: each window is the next rows in (timestamp, id) order, and every one of them is checked."""
        window = max(4 * limit, 2_000)
        seen = 0
        found: list[int] = []
        while window <= SPARSE_LIMIT:
            rows = self._connection.execute(
                f"SELECT id FROM events {where} ORDER BY timestamp DESC, id DESC LIMIT ? OFFSET ?", [*params, window, seen]
            ).fetchall()
            if not rows:
                return found
            ids = [row[0] for row in rows]
            matching = {row[0] for row in self._connection.execute(
                "SELECT rowid FROM events_fts WHERE events_fts MATCH ? AND rowid BETWEEN ? AND ?", (match, min(ids), max(ids))
            )}
            found.extend(i for i in ids if i in matching)
            if len(found) >= limit or len(rows) < window:
                return found[:limit]
            seen += len(rows)
            window *= 4
        return None

    def _event(self, row_id: int) -> dict[str, Any]:
        (event,) = self._connection.execute("SELECT event FROM events WHERE id = ?", (row_id,)).fetchone()
        value: dict[str, Any] = orjson.loads(event)
        return value

    def totals(self) -> tuple[int, int]:
        (events,) = self._connection.execute("SELECT count(*) FROM events").fetchone()
        (dead,) = self._connection.execute("SELECT count(*) FROM dead_letters").fetchone()
        return int(events), int(dead)

    def conflicts(self, limit: int) -> tuple[int, list[dict[str, Any]]]:
        if self._connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'conflicts'").fetchone() is None:
            return 0, []  # a schema 1 file no consumer of this version has opened yet
        (count,) = self._connection.execute("SELECT count(*) FROM conflicts").fetchone()
        rows = self._connection.execute(
            "SELECT event_id, detected_at, kept_topic, kept_partition, kept_offset, rejected_topic, rejected_partition, "
            "rejected_offset FROM conflicts ORDER BY detected_at DESC LIMIT ?", (limit,)
        ).fetchall()
        latest = [
            {"event_id": bytes(event_id).hex(), "detected_at": detected_at,
             "kept": {"topic": kept_topic, "partition": kept_partition, "offset": kept_offset},
             "rejected": {"topic": topic, "partition": partition, "offset": offset}}
            for event_id, detected_at, kept_topic, kept_partition, kept_offset, topic, partition, offset in rows
        ]
        return int(count), latest

    def oldest_timestamp(self) -> str | None:
        # min() over the indexed column reads one entry of events_by_timestamp, not the table.
        (oldest,) = self._connection.execute(OLDEST_TIMESTAMP).fetchone()
        return str(oldest) if oldest is not None else None

    def dead_letters(self, limit: int, topic: str | None = None) -> list[DeadLetterRecord]:
        where, params = ("WHERE topic = ?", [topic]) if topic is not None else ("", [])
        rows = self._connection.execute(
            f"SELECT {self._dead_letter_columns()} FROM dead_letters {where} "
            "ORDER BY received_at DESC, topic, partition, offset DESC LIMIT ?", [*params, limit]
        ).fetchall()
        return [_dead_letter(row) for row in rows]

    def dead_letter(self, topic: str, partition: int, offset: int) -> DeadLetterRecord | None:
        row = self._connection.execute(
            f"SELECT {self._dead_letter_columns()} FROM dead_letters WHERE topic = ? AND partition = ? AND offset = ?",
            (topic, partition, offset),
        ).fetchone()
        return _dead_letter(row) if row is not None else None

    def mark_redriven(self, letters: Iterable[DeadLetterRecord]) -> None:
        if not self._has_redriven_column():
            raise LogferryError(
                f"the database {connection_path(self._connection)} predates deadletters redrive: start this version "
                "of the consumer on it once to upgrade it")
        connection = self._connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.executemany(
                "UPDATE dead_letters SET redriven_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
                "WHERE topic = ? AND partition = ? AND offset = ?",
                [(d.topic, d.partition, d.offset) for d in letters],
            )
            connection.execute("COMMIT")
        except sqlite3.Error:
            connection.execute("ROLLBACK")
            raise

    def _has_redriven_column(self) -> bool:
        return any(row[1] == "redriven_at" for row in self._connection.execute("PRAGMA table_info(dead_letters)"))

    def _dead_letter_columns(self) -> str:
        redriven = "redriven_at" if self._has_redriven_column() else "NULL"  # a file no consumer upgraded yet
        return f"topic, partition, offset, error, size, key, raw, received_at, {redriven}"

    def stored_offsets(self) -> dict[TopicPartitionKey, int]:
        rows = self._connection.execute("SELECT topic, partition, next_offset FROM offsets").fetchall()
        return {(str(t), int(p)): int(o) for t, p, o in rows}

    def set_offsets(self, offsets: dict[TopicPartitionKey, int]) -> None:
        connection = self._connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.executemany(UPSERT_OFFSET, [(t, p, o) for (t, p), o in offsets.items()])
            connection.execute("COMMIT")
        except sqlite3.Error:
            connection.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._connection.close()


OLDEST_TIMESTAMP = "SELECT min(timestamp) FROM events"
SPARSE_LIMIT = 200_000  # rows walked newest first before a search falls back to listing every match


def _filters(query: SearchQuery) -> tuple[str, list[Any]]:
    """The WHERE clause (or "") and parameters of the field and time filters."""
    clauses: list[str] = []
    params: list[Any] = []
    for clause, value in (
        ("timestamp >= ?", query.since), ("timestamp < ?", query.until), ("severity >= ?", query.min_severity),
        ("service = ?", query.service), ("host = ?", query.host),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    # Minimal and unindexed (a scan of the stored JSON): the sqlite sink's owner replaces these with indexed columns.
    if query.trace_id is not None:
        clauses.append("json_extract(CAST(event AS TEXT), '$.trace_id') = ?")
        params.append(query.trace_id)
    for key, value in query.attributes:
        clauses.append(_ATTRIBUTE_AS_TEXT)
        path = _attribute_path(key)
        params.extend([path, path, value])
    return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params


# An attribute's value as text, so `order_id:42` matches the number 42 and the string "42"; true/false as words.
_ATTRIBUTE_AS_TEXT = (
    "(CASE json_type(CAST(event AS TEXT), ?) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
    "WHEN 'object' THEN NULL WHEN 'array' THEN NULL "
    "ELSE CAST(json_extract(CAST(event AS TEXT), ?) AS TEXT) END) = ?"
)


def _attribute_path(key: str) -> str:
    """The JSON path of attributes[key]; a quoted label, so dots stay part of the key (keys carry no '"')."""
    return '$.attributes."' + key + '"'


def _dead_letter(row: tuple[Any, ...]) -> DeadLetterRecord:
    topic, partition, offset, error, size, key, raw, received_at, redriven_at = row
    return DeadLetterRecord(
        topic=str(topic), partition=int(partition), offset=int(offset), error=str(error), size=int(size),
        key=bytes(key) if key is not None else None, raw=bytes(raw), received_at=str(received_at),
        redriven_at=str(redriven_at) if redriven_at is not None else None,
    )
