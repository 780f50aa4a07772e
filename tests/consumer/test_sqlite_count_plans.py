"""The console's counts without words, attributes or a trace id are answered by SQLite's covering indexes alone: every
statement the reader runs for the facets over a wide range and for the histogram reads `events` only through a
covering index (no table row read, no sorter), as EXPLAIN QUERY PLAN says for the very statements it ran."""

import re
import sqlite3
from pathlib import Path

import pytest

from consumer.sinks.base import SearchQuery
from consumer.sinks.sqlite_reader import SqliteReader
from schemas.timefmt import format_ns
from tests.consumer.helpers import BASE_NS, make_events
from tests.consumer.test_sqlite_names import write

MINUTE_NS = 60_000_000_000
READS_EVENTS = re.compile(r"\b(SCAN|SEARCH) events\b")


@pytest.fixture
def reader(tmp_path: Path) -> SqliteReader:
    events = []
    for n, (service, host) in enumerate([("api", "web-1"), ("api", "web-2"), ("billing", "web-1"), ("mail", "mx-1")]):
        events += make_events(300, file=f"dev:1/ino:{n}", start=n * 300, service=service, host=host,
                              step_ns=250_000_000)
    write(tmp_path / "logs.db", events)
    return SqliteReader(str(tmp_path / "logs.db"))


def plans_of(reader: SqliteReader, call: object) -> dict[str, list[str]]:
    """Each statement `call()` ran on the reader's connection (parameters inlined) with its query plan."""
    connection: sqlite3.Connection = reader._connection  # the reader's own: the statements it really runs
    statements: list[str] = []
    connection.set_trace_callback(statements.append)
    try:
        call()  # type: ignore[operator]
    finally:
        connection.set_trace_callback(None)
    return {sql: [str(row[-1]) for row in connection.execute("EXPLAIN QUERY PLAN " + sql)]
            for sql in statements if sql.lstrip().upper().startswith("SELECT")}


def assert_index_only(plans: dict[str, list[str]], counting_index: str) -> None:
    counted = False
    for sql, plan in plans.items():
        for detail in plan:
            assert "TEMP B-TREE" not in detail, (sql, plan)
            if READS_EVENTS.search(detail):
                assert "USING COVERING INDEX" in detail, (sql, plan)
        if "count(" in sql.lower():
            assert any(counting_index in detail for detail in plan if READS_EVENTS.search(detail)), (sql, plan)
            counted = True
    assert counted, plans


WIDE = [SearchQuery(), SearchQuery(service="api"), SearchQuery(service="api", host="web-2"), SearchQuery(host="mx-1"),
        SearchQuery(min_severity=13), SearchQuery(service="never seen"),
        SearchQuery(since=format_ns(BASE_NS), until=format_ns(BASE_NS + 300 * MINUTE_NS))]


@pytest.mark.parametrize("query", WIDE, ids=lambda q: repr(q)[12:60])
def test_facets_over_a_wide_range_walk_events_by_source_alone(reader: SqliteReader, query: SearchQuery) -> None:
    plans = plans_of(reader, lambda: reader.facets(query))
    assert_index_only(plans, "events_by_source")
    reader.close()


@pytest.mark.parametrize("query", [SearchQuery(), SearchQuery(min_severity=13), SearchQuery(min_severity=17)],
                         ids=lambda q: repr(q)[12:60])
def test_the_histogram_counts_ranges_of_events_by_severity_alone(reader: SqliteReader, query: SearchQuery) -> None:
    ranged = SearchQuery(min_severity=query.min_severity, since=format_ns(BASE_NS - MINUTE_NS),
                         until=format_ns(BASE_NS + 30 * MINUTE_NS))
    histogram = reader.histogram(ranged, MINUTE_NS)
    assert histogram.total > 0  # the plans below are of statements that counted something
    plans = plans_of(reader, lambda: reader.histogram(ranged, MINUTE_NS))
    assert_index_only(plans, "events_by_severity")
    reader.close()
