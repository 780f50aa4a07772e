"""Search by field on SQLite: trace id through its index (the query plan says so), attribute equalities checked on
the stored (compressed) events, the oldest event kept; results are the events exactly as sent."""

from pathlib import Path
from typing import Any

from consumer.records import Batch, DeadLetter
from consumer.sinks.base import SearchQuery
from consumer.sinks.sqlite import SqliteSink
from consumer.sinks.sqlite_reader import SqliteReader
from schemas import serialize
from tests.consumer.helpers import make_events

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def no_dead_letters(letters: list[DeadLetter]) -> None:
    raise AssertionError(f"no dead letter expected, got {letters}")


def index(db: Path, events: list[dict[str, Any]]) -> None:
    sink = SqliteSink(str(db), no_dead_letters)
    sink.setup()
    sink.stored_offsets([("logs", 0)])
    batch = Batch()
    for offset, event in enumerate(events):
        batch.items.append(sink.prepare(event, serialize(event)))
        batch.sources.append(("logs", 0, offset))
        batch.next_offsets[("logs", 0)] = offset + 1
    sink.add(batch)
    sink.flush()
    sink.close()


def corpus() -> list[dict[str, Any]]:
    events = make_events(3_000)
    for i, event in enumerate(events):
        attributes = event["attributes"]
        attributes["order_id"] = i % 50  # a number: matches "42" given as text
        attributes["http.response.status_code"] = 500 if i % 7 == 0 else 200
        attributes["user"] = {"name": "bob" if i % 3 == 0 else "alice"}  # nested: "user.name"
        attributes["tags"] = ["blue", "green"] if i % 2 else ["red"]
        attributes["note"] = "order_id 42"  # the words of an equality, not the equality
        if i % 1000 == 17:
            event["trace_id"] = TRACE
    return events


def test_trace_id_search_finds_its_events_through_the_partial_index(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    events = corpus()
    index(db, events)
    reader = SqliteReader(str(db))
    found = reader.search(SearchQuery(trace_id=TRACE, limit=100))
    expected = [e for e in events if e.get("trace_id") == TRACE]
    assert found == sorted(expected, key=lambda e: e["timestamp"], reverse=True) and len(found) == 3
    assert reader.search(SearchQuery(trace_id="0" * 32)) == []
    assert reader.search(SearchQuery(trace_id="not-a-trace")) == []
    assert reader.search(SearchQuery(text="request", trace_id=TRACE, limit=1)) == found[:1]

    details = " ".join(reader.explain(SearchQuery(trace_id=TRACE)))
    assert "USING INDEX events_by_trace" in details, details
    assert "events_by_trace" not in " ".join(reader.explain(SearchQuery(service="api")))
    reader.close()


def test_attribute_equalities_are_exact_on_compressed_events(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    events = corpus()
    index(db, events)
    reader = SqliteReader(str(db))

    def search(*pairs: tuple[str, str], text: str = "", limit: int = 10_000) -> list[dict[str, Any]]:
        return reader.search(SearchQuery(text=text, attributes=pairs, limit=limit))

    def newest(select: Any) -> list[dict[str, Any]]:
        return sorted([e for e in events if select(e)], key=lambda e: e["timestamp"], reverse=True)

    assert search(("order_id", "42")) == newest(lambda e: e["attributes"]["order_id"] == 42)
    assert search(("order_id", "42"), ("http.response.status_code", "500")) == newest(
        lambda e: e["attributes"]["order_id"] == 42 and e["attributes"]["http.response.status_code"] == 500)
    assert search(("user.name", "bob")) == newest(lambda e: e["attributes"]["user"]["name"] == "bob")
    assert search(("tags", "green")) == newest(lambda e: "green" in e["attributes"]["tags"])
    assert search(("order_id", "4")) == newest(lambda e: e["attributes"]["order_id"] == 4)  # not 42, 24, 40...
    assert search(("note", "42")) == []  # a word of a value is not the value
    assert search(("order_id", "42"), text="request") == newest(lambda e: e["attributes"]["order_id"] == 42)
    assert len(search(("order_id", "42"), limit=5)) == 5
    assert search(("missing", "1")) == []
    reader.close()


def test_oldest_timestamp_is_the_oldest_event_kept(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    index(db, [])
    reader = SqliteReader(str(db))
    assert reader.oldest_timestamp() is None
    reader.close()
    events = make_events(10, start=5)
    index(db, list(reversed(events)))
    reader = SqliteReader(str(db))
    assert reader.oldest_timestamp() == events[0]["timestamp"]
    assert reader.search(SearchQuery(since=events[3]["timestamp"], until=events[6]["timestamp"])) == events[3:6][::-1]
    reader.close()
