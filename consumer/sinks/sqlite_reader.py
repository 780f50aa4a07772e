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
        clauses: list[str] = []
        params: list[Any] = []
        if query.text.strip():
            clauses.append("e.id IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)")
            params.append(fts_query(query.text))
        if query.since is not None:
            clauses.append("e.timestamp >= ?")
            params.append(query.since)
        if query.until is not None:
            clauses.append("e.timestamp < ?")
            params.append(query.until)
        if query.min_severity is not None:
            clauses.append("e.severity >= ?")
            params.append(query.min_severity)
        if query.service is not None:
            clauses.append("e.service = ?")
            params.append(query.service)
        if query.host is not None:
            clauses.append("e.host = ?")
            params.append(query.host)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT e.event FROM events e {where} ORDER BY e.timestamp DESC, e.id DESC LIMIT ?"
        params.append(query.limit)
        rows = self._connection.execute(sql, params).fetchall()
        return [orjson.loads(row[0]) for row in rows]

    def totals(self) -> tuple[int, int]:
        (events,) = self._connection.execute("SELECT count(*) FROM events").fetchone()
        (dead,) = self._connection.execute("SELECT count(*) FROM dead_letters").fetchone()
        return int(events), int(dead)

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
