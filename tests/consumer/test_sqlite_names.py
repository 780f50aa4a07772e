"""Schema 4's interned service and host names (consumer/sinks/sqlite_names.py): any text is kept exactly and found by
its filter, each name is stored once, a name never seen matches nothing, and the counts name what they count."""

from collections import Counter
from pathlib import Path
from typing import Any

from consumer.records import Batch
from consumer.sinks.base import SearchQuery
from consumer.sinks.sqlite import SqliteSink
from consumer.sinks.sqlite_reader import SqliteReader
from schemas import serialize
from schemas.timefmt import format_ns
from tests.consumer.helpers import BASE_NS, make_events

TOPIC = "logs"
ODD_SERVICES = ("o'brien \"svc\"", "café-ünïcödé-服务", "nul\x00inside", "", "billing-api")
ODD_HOSTS = ("web-1.eu-west-1.compute.internal", "hôte;--DROP", "tab\there", "nul\x00host", "'")


def write(db: Path, events: list[dict[str, Any]], *, batch_size: int = 20_000) -> None:
    sink = SqliteSink(str(db), lambda letters: None)
    sink.setup()
    sink.stored_offsets([(TOPIC, 0)])
    (offset,) = sink.connection.execute("SELECT coalesce(max(next_offset), 0) FROM offsets").fetchone()
    for first in range(0, len(events), batch_size):
        batch = Batch()
        for event in events[first:first + batch_size]:
            batch.items.append(sink.prepare(event, serialize(event)))
            batch.sources.append((TOPIC, 0, offset))
            offset += 1
            batch.next_offsets[(TOPIC, 0)] = offset
        sink.add(batch)
        sink.flush()
    sink.close()


def odd_events() -> list[dict[str, Any]]:
    events = []
    for n, (service, host) in enumerate(zip(ODD_SERVICES, ODD_HOSTS, strict=True)):
        events += make_events(6, file=f"dev:1/ino:{n}", start=n * 6, service=service, host=host)
    # The same text as a service and as a host: two dictionaries, no confusion.
    events += make_events(4, file="dev:1/ino:99", start=60, service="shared", host="shared")
    return events


def newest(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(events, key=lambda e: (e["timestamp"], e["event_id"]), reverse=True)


def test_names_with_quotes_unicode_and_a_nul_are_kept_exactly_and_found_by_their_filters(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    events = odd_events()
    write(db, events)
    reader = SqliteReader(str(db))
    try:
        for service in (*ODD_SERVICES, "shared"):
            expected = newest([e for e in events if e["resource"]["service.name"] == service])
            assert expected
            assert reader.search(SearchQuery(service=service, limit=100)) == expected, repr(service)
        for host in (*ODD_HOSTS, "shared"):
            expected = newest([e for e in events if e["resource"]["host.name"] == host])
            assert reader.search(SearchQuery(host=host, limit=100)) == expected, repr(host)
        assert reader.search(SearchQuery(service="shared", host="shared", limit=100)) == newest(events[-4:])
        facets = reader.facets(SearchQuery(), limit=100)
        assert dict(facets.services) == dict(Counter(e["resource"]["service.name"] for e in events))
        assert dict(facets.hosts) == dict(Counter(e["resource"]["host.name"] for e in events))
        # With an attribute filter the facets walk the stored events and name their groups the same way.
        walked = reader.facets(SearchQuery(attributes=(("log.file.path", "/var/log/shared.log"),)), limit=100)
        assert (walked.total, walked.services, walked.hosts) == (4, [("shared", 4)], [("shared", 4)])
    finally:
        reader.close()
    # Each name once in its dictionary, the rows carry ids.
    sink = SqliteSink(str(db), lambda letters: None)
    sink.setup()
    connection = sink.connection
    assert sorted(name for (name,) in connection.execute("SELECT name FROM services")) == sorted(
        (*ODD_SERVICES, "shared"))
    assert sorted(name for (name,) in connection.execute("SELECT name FROM hosts")) == sorted((*ODD_HOSTS, "shared"))
    assert connection.execute("SELECT DISTINCT typeof(service), typeof(host) FROM events").fetchall() == [
        ("integer", "integer")]
    sink.close()


def test_a_service_or_host_never_seen_matches_nothing_anywhere(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    events = make_events(50)
    write(db, events)
    reader = SqliteReader(str(db))
    try:
        for query in (SearchQuery(service="nobody"), SearchQuery(host="nowhere"), SearchQuery(service="api", host="x"),
                      SearchQuery(service="nobody", text="handled"), SearchQuery(service="API")):
            assert reader.search(query) == []
            assert reader.facets(query).total == 0
            ranged = SearchQuery(service=query.service, host=query.host, text=query.text,
                                 since=format_ns(BASE_NS), until=format_ns(BASE_NS + 3_600_000_000_000))
            assert reader.histogram(ranged, 60_000_000_000).total == 0
            cursor = reader.tail(query, None).cursor
            write(db, make_events(3, start=1_000 + len(events)))
            events += make_events(3, start=1_000 + len(events))
            assert reader.tail(query, cursor).events == []
        assert reader.search(SearchQuery(service="api", limit=1_000)) == newest(events)
    finally:
        reader.close()


def test_many_distinct_hosts_are_interned_once_each_and_counted(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    events = []
    for n in range(3_000):  # more distinct names than a chunk has rows of one file, over two batches
        events += make_events(1 + n % 3, file=f"dev:1/ino:{n}", start=n * 3, service=f"svc-{n % 7}",
                              host=f"host-{n:05d}.example.internal")
    write(db, events, batch_size=2_500)
    reader = SqliteReader(str(db))
    try:
        assert reader.totals() == (len(events), 0)
        assert reader.search(SearchQuery(host="host-01234.example.internal", limit=10)) == newest(
            [e for e in events if e["resource"]["host.name"] == "host-01234.example.internal"])
        facets = reader.facets(SearchQuery(), limit=5)
        counts = Counter(e["resource"]["host.name"] for e in events)
        top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:5]
        assert facets.hosts == top
        assert dict(reader.facets(SearchQuery(), limit=10).services) == dict(
            Counter(e["resource"]["service.name"] for e in events))
    finally:
        reader.close()
    sink = SqliteSink(str(db), lambda letters: None)
    sink.setup()
    assert sink.connection.execute("SELECT count(*), count(DISTINCT name) FROM hosts").fetchone() == (3_000, 3_000)
    assert sink.connection.execute("SELECT count(*) FROM services").fetchone() == (7,)
    sink.close()


def test_an_event_without_service_or_host_counts_under_none(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    events = make_events(10)
    for event in events[:4]:
        del event["resource"]["service.name"]
    for event in events[2:5]:
        del event["resource"]["host.name"]
    write(db, events)
    reader = SqliteReader(str(db))
    try:
        facets = reader.facets(SearchQuery())
        assert dict(facets.services) == {None: 4, "api": 6}
        assert dict(facets.hosts) == {None: 3, "web-1": 7}
        assert reader.search(SearchQuery(service="api", limit=100)) == newest(events[4:])
    finally:
        reader.close()
