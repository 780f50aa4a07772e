"""Reading the SQLite index: search (FTS5 plus filters, newest first), totals, the oldest event, dead letters (list,
one, mark redriven), and stored offsets for replay.

Field filters: severity and time are columns, service and host columns of interned ids (a name filtered on is turned
into its id by the statement itself, consumer/sinks/sqlite_names.py); `trace_id` is a column with a partial index
(`events_by_trace`); attribute equalities are checked on the stored events themselves, newest first, after every
indexed filter narrowed the rows (`AttributeFilter`). Measured on the bench corpus (100,000 events): indexing every
attribute pair as one hashed token in a second FTS5 column adds 72 bytes/event (the file 1.27x -> 1.65x raw, past
the 1.5x target), a (key id, value, row) side table 223; walking the candidates costs ~5 us of CPU per event walked
(0.5 s per 100,000 when nothing matches: one block decompression per ~250 events, a byte search, a JSON parse only
where the value's bytes appear), and a query with any other filter or a word walks only what those leave.
"""

import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from consumer.records import TopicPartitionKey
from consumer.sinks.base import DeadLetterRecord, IndexReader, SearchQuery, SinkError
from consumer.sinks.browse import FacetCounts, Histogram, TailPage, histogram_of
from consumer.sinks.sqlite import UPSERT_OFFSET
from consumer.sinks.sqlite_codec import StoredEvents
from consumer.sinks.sqlite_db import SCHEMA_VERSION, connect, connection_path, layout_version
from consumer.sinks.sqlite_names import HOST_FILTER, SERVICE_FILTER
from consumer.sinks.sqlite_reader_facets import Selection, SqliteBrowser
from consumer.sinks.sqlite_reader_query import AttributeFilter, fts_query
from consumer.sinks.sqlite_rows import timestamp_ns
from logferry.errors import LogferryError
from schemas.timefmt import format_ns


class SqliteReader(IndexReader):
    """Read access to the database a SQLite sink writes; safe while a worker writes (WAL)."""

    def __init__(self, path: str) -> None:
        self._connection = connect(path, create=False)
        self._events = StoredEvents(self._connection)
        self._path = path
        self._browser = SqliteBrowser(self._connection, self._events)

    def search(self, query: SearchQuery) -> list[dict[str, Any]]:
        self._check_layout()
        filters = _filters(query)
        if filters is None:
            return []
        where, params = filters
        if query.attributes:
            return self._search_attributes(query, where, params)
        if not query.text.strip():
            ids = [row[0] for row in self._connection.execute(_newest(where), [*params, query.limit])]
        else:
            match = fts_query(query.text)
            found = self._newest_matches(match, where, params, query.limit)
            if found is None:
                # Few matches among many rows: let FTS5 list them all, then order by time.
                sql = (f"SELECT id FROM events {where}{' AND' if where else 'WHERE'} "
                       "id IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?) ORDER BY timestamp DESC, id DESC LIMIT ?")
                found = [row[0] for row in self._connection.execute(sql, [*params, match, query.limit])]
            ids = found
        return [event for event in (self._event(i) for i in ids) if event is not None]

    def facets(self, query: SearchQuery, limit: int = 10) -> FacetCounts:
        self._check_layout()
        filters = _filters(query)
        if filters is None:
            return FacetCounts(0, {}, [], [])
        return self._browser.facets(_selection(query, filters), limit)

    def histogram(self, query: SearchQuery, interval_ns: int) -> Histogram:
        self._check_layout()
        if query.since is None or query.until is None:
            raise ValueError("a histogram needs both ends of its time range")
        since_ns, until_ns = timestamp_ns(query.since), timestamp_ns(query.until)
        filters = _filters(query)
        if filters is None:
            return histogram_of(since_ns, until_ns, interval_ns, {})
        return self._browser.histogram(_selection(query, filters), since_ns, until_ns, interval_ns)

    def tail(self, query: SearchQuery, cursor: str | None) -> TailPage:
        self._check_layout()
        filters = _filters(query)
        if filters is None:
            return TailPage([], str(self._browser.end()))
        return self._browser.tail(_selection(query, filters), cursor, query.limit)

    def last_write(self) -> str | None:
        return self._browser.last_write()

    def _check_layout(self) -> None:
        if layout_version(self._connection) < SCHEMA_VERSION:
            raise SinkError(f"the database {self._path} predates schema {SCHEMA_VERSION}: start the consumer once to "
                            "upgrade it", retriable=False)

    def explain(self, query: SearchQuery) -> list[str]:
        """The query plan (EXPLAIN QUERY PLAN details) of the statement listing `query`'s newest rows without text."""
        filters = _filters(query)
        if filters is None:
            return []
        where, params = filters
        rows = self._connection.execute("EXPLAIN QUERY PLAN " + _newest(where), [*params, query.limit]).fetchall()
        return [str(row[-1]) for row in rows]

    def _search_attributes(self, query: SearchQuery, where: str, params: list[Any]) -> list[dict[str, Any]]:
        """Candidates newest first (the text and field filters applied by SQLite), each checked for the attributes."""
        if query.text.strip():
            sql = (f"SELECT id FROM events {where}{' AND' if where else 'WHERE'} "
                   "id IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?) ORDER BY timestamp DESC, id DESC")
            params = [*params, fts_query(query.text)]
        else:
            sql = f"SELECT id FROM events {where} ORDER BY timestamp DESC, id DESC"
        found: list[dict[str, Any]] = []
        wanted = AttributeFilter(query.attributes)
        for raw in self._raw_events(self._connection.execute(sql, params)):
            event = wanted.match(raw)
            if event is not None:
                found.append(event)
                if len(found) >= query.limit:
                    break
        return found

    def _raw_events(self, rows: Iterator[tuple[Any, ...]]) -> Iterator[bytes]:
        for (row_id,) in rows:
            raw = self._events.get(int(row_id))
            if raw is not None:
                yield raw

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

    def _event(self, row_id: int) -> dict[str, Any] | None:
        raw = self._events.get(row_id)
        if raw is None:
            return None  # deleted by retention since the ids were read
        value: dict[str, Any] = orjson.loads(raw)
        return value

    def oldest_timestamp(self) -> str | None:
        # min() over the indexed column reads one entry of events_by_timestamp, not the table.
        (oldest,) = self._connection.execute(OLDEST_TIMESTAMP).fetchone()
        if oldest is None:
            return None
        return format_ns(int(oldest)) if isinstance(oldest, int) else str(oldest)  # text in a file not yet upgraded

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


def _newest(where: str) -> str:
    return f"SELECT id FROM events {where} ORDER BY timestamp DESC, id DESC LIMIT ?"


def _filters(query: SearchQuery) -> tuple[str, list[Any]] | None:
    """The WHERE clause (or "") and parameters of the field and time filters; None when nothing can match (a trace id
    that is not 32 hex digits)."""
    clauses: list[str] = []
    params: list[Any] = []
    trace: bytes | None = None
    if query.trace_id is not None:
        try:
            trace = bytes.fromhex(query.trace_id)
        except ValueError:
            return None
        if len(trace) != 16:
            return None
    for clause, value in (
        ("timestamp >= ?", None if query.since is None else timestamp_ns(query.since)),
        ("timestamp < ?", None if query.until is None else timestamp_ns(query.until)),
        ("severity >= ?", query.min_severity), (SERVICE_FILTER, query.service), (HOST_FILTER, query.host),
        ("trace_id = ?", trace),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params


def _selection(query: SearchQuery, filters: tuple[str, list[Any]]) -> Selection:
    return Selection(
        *filters, query.text, query.attributes,
        since_ns=None if query.since is None else timestamp_ns(query.since),
        until_ns=None if query.until is None else timestamp_ns(query.until),
        min_severity=query.min_severity, by_source=query.service is not None or query.host is not None,
        by_trace=query.trace_id is not None,
    )


def _dead_letter(row: tuple[Any, ...]) -> DeadLetterRecord:
    topic, partition, offset, error, size, key, raw, received_at, redriven_at = row
    return DeadLetterRecord(
        topic=str(topic), partition=int(partition), offset=int(offset), error=str(error), size=int(size),
        key=bytes(key) if key is not None else None, raw=bytes(raw), received_at=str(received_at),
        redriven_at=str(redriven_at) if redriven_at is not None else None,
    )
