"""Reading the SQLite index: search (FTS5 plus filters, newest first), totals, and stored offsets for replay."""

import sqlite3
from typing import Any

import orjson

from consumer.records import TopicPartitionKey
from consumer.sinks.base import IndexReader, SearchQuery
from consumer.sinks.sqlite import UPSERT_OFFSET
from consumer.sinks.sqlite_db import connect
from consumer.sinks.sqlite_reader_query import fts_query


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
    return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params
