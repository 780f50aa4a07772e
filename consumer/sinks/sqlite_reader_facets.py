"""Browsing the SQLite index: facet counts, the histogram, and the tail (consumer.sinks.browse).

The statements group the `events` rows the field and time filters select (events_by_timestamp narrows a range) and,
with words, those FTS5 lists; SQLite counts, Python only folds the few groups into the answer:
- facets: one GROUP BY (service, host, severity) pass, whose groups are as many as the distinct combinations, not
  the events (folded into level classes and the top services and hosts here). Without words, attributes or a trace
  id, and over a range holding at least WIDE_FRACTION of the index's time span, the pass walks the covering index
  events_by_source in its own order (no sorter, no table row read); a narrow range reads its rows through
  events_by_timestamp instead. Service and host are interned ids (consumer/sinks/sqlite_names.py): the groups are
  joined to their names after the count, so the count stays a walk of the index;
- histogram: without words, attributes, trace id, service or host, one count per (severity number present, bucket),
  each a range of the covering index events_by_severity; otherwise one GROUP BY (timestamp / interval, severity)
  pass over the selected rows;
- tail: the row id is the cursor (ids only grow, and a batch's rows commit in id order), so "newer than" is a range of
  the primary key; the current end is the highest id, read once per call, so rows committed while the call runs
  are left for the next one rather than skipped.
Attribute equalities are checked on the stored events (sqlite_reader_query.AttributeFilter): facets and histograms
with attributes walk at most ATTRIBUTE_SCAN_LIMIT candidates newest first and say they are incomplete past that; the
tail walks at most TAIL_SCAN_LIMIT rows per call and resumes after the last one it walked.
"""

import sqlite3
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from consumer.sinks.browse import (
    FacetCounts,
    Histogram,
    SeverityClass,
    TailPage,
    bucket_starts,
    histogram_of,
    severity_class,
)
from consumer.sinks.sqlite_codec import StoredEvents
from consumer.sinks.sqlite_names import (
    HOST_FILTER,
    HOST_FILTER_IN_WALK,
    HOST_NAME,
    SERVICE_FILTER,
    SERVICE_NAME,
    named_groups,
)
from consumer.sinks.sqlite_reader_query import AttributeFilter, fts_query

SEVERITY_INDEX = "events_by_severity"
SOURCE_INDEX = "events_by_source"
WIDE_FRACTION = 0.05
# One severity number's count per bucket: ?1 severity, ?2 interval, ?3 since, ?4 until, ?5 the bucket starts (JSON).
BUCKET_COUNTS = (
    "SELECT j.value, (SELECT count(*) FROM events INDEXED BY events_by_severity WHERE severity = ?1 "
    "AND timestamp >= max(j.value, ?3) AND timestamp < min(j.value + ?2, ?4)) FROM json_each(?5) AS j"
)
ATTRIBUTE_SCAN_LIMIT = 200_000  # candidates walked by facets/histogram with attribute filters
TAIL_SCAN_LIMIT = 50_000  # rows walked by one tail call with attribute filters


def _and(where: str, clause: str) -> str:
    return f"{where} AND {clause}" if where else f"WHERE {clause}"


def _with_text(where: str, params: list[Any], text: str) -> tuple[str, list[Any]]:
    if not text.strip():
        return where, params
    return _and(where, "id IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)"), [*params, fts_query(text)]


def _top(counter: Counter[str | None], limit: int) -> list[tuple[str | None, int]]:
    return sorted(counter.items(), key=lambda item: (-item[1], item[0] or ""))[:limit]


@dataclass(frozen=True)
class Selection:
    """What a query selects: the WHERE clause of its field and time filters with its parameters, its words, its
    attribute equalities."""

    where: str
    params: list[Any]
    text: str
    attributes: tuple[tuple[str, str], ...]
    since_ns: int | None = None
    until_ns: int | None = None
    min_severity: int | None = None
    by_source: bool = False  # a service or host filter
    by_trace: bool = False

    @property
    def counted_by_indexes(self) -> bool:
        """Whether the counting indexes alone can answer (no words, attributes or trace id to check)."""
        return not self.text.strip() and not self.attributes and not self.by_trace


class SqliteBrowser:
    """Facets, histogram and tail over one connection (the reader's)."""

    def __init__(self, connection: sqlite3.Connection, events: StoredEvents) -> None:
        self._connection = connection
        self._events = events

    def facets(self, selection: Selection, limit: int) -> FacetCounts:
        attributes = selection.attributes
        levels: Counter[SeverityClass] = Counter()
        services: Counter[str | None] = Counter()
        hosts: Counter[str | None] = Counter()
        where, params = _with_text(selection.where, selection.params, selection.text)
        complete = True
        if attributes:
            complete = self._walk_attributes(where, params, attributes, lambda row, _event: _count_row(
                row, 1, levels, services, hosts), columns=f"severity, {SERVICE_NAME}, {HOST_NAME}")
        else:
            if selection.counted_by_indexes and self._has(SOURCE_INDEX) and self._wide(selection):
                # One walk of the covering index in its own order: no sorter, no table rows; the groups come out in
                # index order (a service filter seeks to its part of the index).
                walk = where if SERVICE_FILTER in where else where.replace(HOST_FILTER, HOST_FILTER_IN_WALK)
                grouped = (f"SELECT severity, service, host, count(*) AS n FROM events INDEXED BY {SOURCE_INDEX} "
                           f"{walk} GROUP BY service, host, severity")
            else:
                grouped = f"SELECT severity, service, host, count(*) AS n FROM events {where} GROUP BY severity, service, host"
            # The few groups joined to their names once counted (consumer/sinks/sqlite_names.py).
            for severity, service, host, count in self._connection.execute(named_groups(grouped), params):
                _count_row((severity, service, host), int(count), levels, services, hosts)
        total = sum(levels.values())
        return FacetCounts(total, dict(levels), _top(services, limit), _top(hosts, limit), complete)

    def histogram(self, selection: Selection, since_ns: int, until_ns: int, interval_ns: int) -> Histogram:
        starts = bucket_starts(since_ns, until_ns, interval_ns)  # refuses too many buckets before any scan
        counts: Counter[tuple[int, SeverityClass]] = Counter()
        if selection.counted_by_indexes and not selection.by_source and self._has(SEVERITY_INDEX):
            # Per severity number present, one count per bucket, each a range of events_by_severity: the work is
            # the events in the range, whatever its length, and nothing is sorted.
            severities = [s for s in self._severities() if selection.min_severity is None or s >= selection.min_severity]
            buckets = orjson.dumps(starts).decode()
            for severity in severities:
                bound = (severity, interval_ns, since_ns, until_ns, buckets)
                for start, number in self._connection.execute(BUCKET_COUNTS, bound):
                    if number:
                        counts[(int(start), severity_class(severity))] += int(number)
            return histogram_of(since_ns, until_ns, interval_ns, counts)
        attributes = selection.attributes
        where, params = _with_text(selection.where, selection.params, selection.text)
        complete = True
        if attributes:
            def count(row: tuple[Any, ...], _event: dict[str, Any]) -> None:
                timestamp, severity = int(row[0]), int(row[1])
                counts[(timestamp - timestamp % interval_ns, severity_class(severity))] += 1

            complete = self._walk_attributes(where, params, attributes, count, columns="timestamp, severity")
        else:
            sql = (f"SELECT timestamp - timestamp % ?, severity, count(*) FROM events {where} "
                   "GROUP BY 1, 2")
            for start, severity, number in self._connection.execute(sql, [interval_ns, *params]):
                counts[(int(start), severity_class(int(severity)))] += int(number)
        return histogram_of(since_ns, until_ns, interval_ns, counts, complete=complete)

    def _has(self, *indexes: str) -> bool:
        """Whether the file has these indexes (a file no consumer of this version opened yet lacks them)."""
        present = {row[0] for row in self._connection.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        return all(name in present for name in indexes)

    def _wide(self, selection: Selection) -> bool:
        """Whether the time range holds at least WIDE_FRACTION of the index's time span: then walking a whole
        counting index costs less than reading the range's rows; a narrow range reads its few rows instead."""
        low, high = self._connection.execute("SELECT min(timestamp), max(timestamp) FROM events").fetchone()
        if low is None:
            return False
        since = max(int(low), selection.since_ns if selection.since_ns is not None else int(low))
        until = min(int(high) + 1, selection.until_ns if selection.until_ns is not None else int(high) + 1)
        return (until - since) >= WIDE_FRACTION * (int(high) + 1 - int(low))

    def _severities(self) -> list[int]:
        """The severity numbers present, by a skip over events_by_severity (one seek per distinct number)."""
        found: list[int] = []
        last = -1
        while True:
            (number,) = self._connection.execute("SELECT min(severity) FROM events WHERE severity > ?", (last,)).fetchone()
            if number is None:
                return found
            last = int(number)
            found.append(last)

    def end(self) -> int:
        (last,) = self._connection.execute("SELECT max(id) FROM events").fetchone()
        return int(last) if last is not None else 0

    def tail(self, selection: Selection, cursor: str | None, limit: int) -> TailPage:
        where, params, text, attributes = selection.where, selection.params, selection.text, selection.attributes
        end = self.end()
        if cursor is None:
            return TailPage([], str(end))
        after = parse_cursor(cursor)
        if after >= end:
            return TailPage([], str(end))
        clauses = _and(where, "id > ? AND id <= ?")
        bounds = [*params, after, end]
        if text.strip():
            clauses = _and(clauses, "id IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ? AND rowid > ?)")
            bounds = [*bounds, fts_query(text), after]
        if not attributes:
            rows = self._connection.execute(f"SELECT id FROM events {clauses} ORDER BY id LIMIT ?", [*bounds, limit]).fetchall()
            events = [e for e in (self._event(int(r[0])) for r in rows) if e is not None]
            last = int(rows[-1][0]) if len(rows) >= limit else end
            return TailPage(events, str(last))
        wanted = AttributeFilter(attributes)
        found: list[dict[str, Any]] = []
        last = after
        walk = self._connection.execute(f"SELECT id FROM events {clauses} ORDER BY id", bounds)
        for walked, (row_id,) in enumerate(walk, start=1):
            last = int(row_id)
            raw = self._events.get(last)
            event = wanted.match(raw) if raw is not None else None
            if event is not None:
                found.append(event)
            if len(found) >= limit or walked >= TAIL_SCAN_LIMIT:
                return TailPage(found, str(last))
        return TailPage(found, str(end))

    def last_write(self) -> str | None:
        (latest,) = self._connection.execute("SELECT max(updated_at) FROM offsets").fetchone()
        return str(latest) if latest is not None else None

    def _event(self, row_id: int) -> dict[str, Any] | None:
        raw = self._events.get(row_id)
        if raw is None:
            return None
        value: dict[str, Any] = orjson.loads(raw)
        return value

    def _walk_attributes(self, where: str, params: list[Any], attributes: tuple[tuple[str, str], ...],
                         count: Any, *, columns: str) -> bool:
        """Calls count(row, event) for each candidate (newest first) with the attributes; False when it stopped at
        ATTRIBUTE_SCAN_LIMIT candidates."""
        wanted = AttributeFilter(attributes)
        sql = f"SELECT id, {columns} FROM events {where} ORDER BY timestamp DESC, id DESC"
        for walked, row in enumerate(self._rows(sql, params)):
            if walked >= ATTRIBUTE_SCAN_LIMIT:
                return False
            raw = self._events.get(int(row[0]))
            event = wanted.match(raw) if raw is not None else None
            if event is not None:
                count(row[1:], event)
        return True

    def _rows(self, sql: str, params: list[Any]) -> Iterator[tuple[Any, ...]]:
        yield from self._connection.execute(sql, params)


def _count_row(row: tuple[Any, ...], count: int, levels: Counter[SeverityClass], services: Counter[str | None],
               hosts: Counter[str | None]) -> None:
    severity, service, host = row
    levels[severity_class(int(severity))] += count
    services[service] += count
    hosts[host] += count


def parse_cursor(cursor: str) -> int:
    """The row id of a SQLite tail cursor; ValueError for anything else."""
    if not cursor.isdigit():
        raise ValueError(f"{cursor!r} is not a tail cursor of this index")
    return int(cursor)

