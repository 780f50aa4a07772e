"""Facet counts, the histogram and the tail of each reader (SQLite, OpenSearch, Elasticsearch) against the events
written through the sink: the counts are the ones a plain count of the written events gives, per filter."""

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from consumer.sinks.base import SearchQuery
from consumer.sinks.browse import SeverityClass, severity_class
from schemas.timefmt import format_ns
from tests.console.support import NS, Index, engine_index, event, refresh, sqlite_index

BASE = 1_780_000_000 * NS  # 2026-05-28T20:26:40Z
SERVICES = ("api", "billing", "search")
HOSTS = ("web-1", "web-2")
LEVELS = (("DEBUG", 5), ("INFO", 9), ("WARN", 13), ("ERROR", 17), ("FATAL", 21), ("", 0))
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def corpus() -> list[dict[str, object]]:
    events = []
    for i in range(240):
        events.append(event(
            i, at_ns=BASE + i * 7 * NS, service=SERVICES[i % 3], host=HOSTS[(i // 3) % 2], level=LEVELS[i % len(LEVELS)],
            body=f"request {i} {'timeout upstream' if i % 5 == 0 else 'handled'}", trace=TRACE if i % 40 == 0 else None,
            attributes={"order_id": i % 4}))
    return events


@pytest.fixture(params=["sqlite", pytest.param("opensearch", marks=pytest.mark.opensearch),
                        pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Index]:
    kind: str = request.param
    if kind == "sqlite":
        made = sqlite_index(tmp_path)
    else:
        url = request.getfixturevalue(f"{kind}_url")
        made = engine_index(kind, url)
    try:
        made.write(corpus())
        if kind != "sqlite":
            refresh(kind, url, made)
        yield made
    finally:
        made.close()


def _matching(query: SearchQuery) -> list[dict[str, object]]:
    """The corpus events `query` selects, counted the plain way."""
    found = []
    for e in corpus():
        stamp = BASE + (int(str(e["attributes"]["log.file.record_offset"])) // 100) * 7 * NS  # type: ignore[index]
        if query.since is not None and stamp < int(_ns(query.since)):
            continue
        if query.until is not None and stamp >= int(_ns(query.until)):
            continue
        if query.service is not None and e["resource"]["service.name"] != query.service:  # type: ignore[index]
            continue
        if query.min_severity is not None and int(str(e["severity_number"])) < query.min_severity:
            continue
        if query.text and not all(w in str(e["body"]).split() for w in query.text.split()):
            continue
        if query.attributes and any(str(e["attributes"].get(k)) != v for k, v in query.attributes):  # type: ignore[union-attr]
            continue
        found.append(e)
    return found


def _ns(text: str) -> int:
    from schemas.timefmt import parse_rfc3339_ns

    return parse_rfc3339_ns(text)


QUERIES = [
    SearchQuery(),
    SearchQuery(service="billing"),
    SearchQuery(min_severity=17),
    SearchQuery(text="timeout"),
    SearchQuery(text="timeout", service="api"),
    SearchQuery(attributes=(("order_id", "2"),)),
    SearchQuery(since=format_ns(BASE + 300 * NS), until=format_ns(BASE + 1200 * NS)),
]


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: repr(q)[12:60])
def test_facet_counts_are_the_counts_of_the_matching_events(index: Index, query: SearchQuery) -> None:
    expected = _matching(query)
    facets = index.reader.facets(query, limit=10)
    assert facets.total == len(expected)
    assert facets.levels == dict(Counter(severity_class(int(str(e["severity_number"]))) for e in expected))
    assert dict(facets.services) == dict(Counter(str(e["resource"]["service.name"]) for e in expected))  # type: ignore[index]
    assert dict(facets.hosts) == dict(Counter(str(e["resource"]["host.name"]) for e in expected))  # type: ignore[index]
    assert [n for _v, n in facets.services] == sorted((n for _v, n in facets.services), reverse=True)


def test_facets_keep_the_most_frequent_values_up_to_the_limit(index: Index) -> None:
    facets = index.reader.facets(SearchQuery(min_severity=13), limit=1)
    assert len(facets.services) == 1 and len(facets.hosts) == 1
    assert facets.total == len(_matching(SearchQuery(min_severity=13)))


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: repr(q)[12:60])
def test_histogram_buckets_hold_the_matching_events_per_interval_and_class(index: Index, query: SearchQuery) -> None:
    since, until = BASE - 5 * NS, BASE + 240 * 7 * NS + 3 * NS
    ranged = replace(query, since=query.since or format_ns(since), until=query.until or format_ns(until))
    interval = 60 * NS
    histogram = index.reader.histogram(ranged, interval)
    first = _ns(ranged.since or "") - _ns(ranged.since or "") % interval
    assert [b.start_ns for b in histogram.buckets] == list(range(first, _ns(ranged.until or ""), interval))
    expected: Counter[tuple[int, SeverityClass]] = Counter()
    for e in _matching(ranged):
        stamp = BASE + (int(str(e["attributes"]["log.file.record_offset"])) // 100) * 7 * NS  # type: ignore[index]
        expected[(stamp - stamp % interval, severity_class(int(str(e["severity_number"]))))] += 1
    got = {(b.start_ns, c): n for b in histogram.buckets for c, n in b.counts.items()}
    assert got == dict(expected)
    assert histogram.total == len(_matching(ranged))


def test_a_histogram_of_too_many_buckets_is_refused(index: Index) -> None:
    with pytest.raises(ValueError, match="buckets"):
        index.reader.histogram(SearchQuery(since=format_ns(BASE), until=format_ns(BASE + 86_400 * NS)), NS)


def test_the_tail_gives_what_arrived_after_the_cursor_oldest_first_and_only_matches(
        index: Index, request: pytest.FixtureRequest) -> None:
    query = SearchQuery(text="fresh", service="billing", limit=3)
    start = index.reader.tail(query, None)
    assert start.events == []
    assert index.reader.tail(query, start.cursor).events == []
    later = BASE + 10_000 * NS
    index.write([event(1000 + i, at_ns=later + i * NS, service=("billing" if i % 2 else "api"), body=f"fresh line {i}")
                 for i in range(10)])
    kind = index.config.sink.type
    if kind != "sqlite":
        refresh(kind, request.getfixturevalue(f"{kind}_url"), index)
    seen: list[str] = []
    cursor = start.cursor
    for _ in range(5):  # pages of at most 3
        page = index.reader.tail(query, cursor)
        assert len(page.events) <= 3
        seen.extend(str(e["body"]) for e in page.events)
        cursor = page.cursor
    assert seen == [f"fresh line {i}" for i in (1, 3, 5, 7, 9)]
    assert index.reader.tail(query, cursor).events == []


def test_the_tail_with_an_attribute_filter(index: Index, request: pytest.FixtureRequest) -> None:
    query = SearchQuery(attributes=(("order_id", "7"),), limit=50)
    cursor = index.reader.tail(query, None).cursor
    index.write([event(2000 + i, at_ns=BASE + 20_000 * NS + i * NS, attributes={"order_id": 7 if i == 2 else 8})
                 for i in range(4)])
    kind = index.config.sink.type
    if kind != "sqlite":
        refresh(kind, request.getfixturevalue(f"{kind}_url"), index)
    page = index.reader.tail(query, cursor)
    assert [e["attributes"]["order_id"] for e in page.events] == [7]  # type: ignore[index]


def test_a_cursor_of_another_kind_is_refused(index: Index) -> None:
    with pytest.raises(ValueError, match="cursor"):
        index.reader.tail(SearchQuery(), "not a cursor!")
