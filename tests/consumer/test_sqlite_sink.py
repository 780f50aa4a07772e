"""The SQLite sink on its own: a full disk fails the flush and moves nothing; a partition another member wrote
is left out (compare-and-set); the database file is readable by its owner only."""

import sqlite3
import stat
from pathlib import Path

import pytest

from consumer.records import Batch, DeadLetter
from consumer.sinks.base import SinkError
from consumer.sinks.sqlite import SqliteSink
from consumer.sinks.sqlite_db import fts_rows
from tests.consumer.helpers import make_events


def no_dead_letters(letters: list[DeadLetter]) -> None:
    raise AssertionError(f"no dead letter expected, got {letters}")


def batch_of(sink: SqliteSink, events: list[dict[str, object]], topic: str = "logs", partition: int = 0, first: int = 0) -> Batch:
    batch = Batch()
    for offset, event in enumerate(events, start=first):
        from schemas import serialize

        batch.items.append(sink.prepare(event, serialize(event)))
        batch.sources.append((topic, partition, offset))
        batch.next_offsets[(topic, partition)] = offset + 1
    return batch


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as connection:
        return connection.execute(sql).fetchall()


def test_a_full_disk_fails_the_flush_moves_nothing_and_the_retry_writes_everything(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    sink = SqliteSink(str(db), no_dead_letters)
    sink.setup()
    sink.stored_offsets([("logs", 0)])
    sink.add(batch_of(sink, make_events(100)))
    assert sink.flush().durable == {("logs", 0): 100}
    # The database may not grow by a single page: SQLite reports SQLITE_FULL, as on a full disk.
    (pages,) = sink.connection.execute("PRAGMA page_count").fetchone()
    sink.connection.execute(f"PRAGMA max_page_count = {pages}")
    sink.add(batch_of(sink, make_events(2000, start=100), first=100))
    with pytest.raises(SinkError) as failure:
        sink.flush()
    assert failure.value.retriable and "full" in str(failure.value)
    assert rows(db, "SELECT count(*) FROM events") == [(100,)]
    assert rows(db, "SELECT next_offset FROM offsets") == [(100,)]
    assert sink.buffered() == 2000

    sink.connection.execute("PRAGMA max_page_count = 1073741823")
    result = sink.flush()
    assert (result.durable, result.indexed, result.duplicates) == ({("logs", 0): 2100}, 2000, 0)
    assert rows(db, "SELECT count(*) FROM events") == [(2100,)]
    assert fts_rows(sink.connection) == 2100
    assert rows(db, "SELECT next_offset FROM offsets") == [(2100,)]
    sink.close()


def test_a_member_that_lost_a_partition_cannot_write_it(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    old_owner = SqliteSink(str(db), no_dead_letters)
    new_owner = SqliteSink(str(db), no_dead_letters)
    old_owner.setup()
    new_owner.setup()
    events = make_events(30)
    old_owner.stored_offsets([("logs", 0), ("logs", 1)])
    new_owner.stored_offsets([("logs", 0)])
    new_owner.add(batch_of(new_owner, events[:20]))
    new_owner.flush()

    stale = batch_of(old_owner, events[:10])  # the old owner still holds records 0-9 of partition 0
    other = batch_of(old_owner, make_events(5, file="dev:1/ino:9"), partition=1)
    stale.extend(other)
    old_owner.add(stale)
    result = old_owner.flush()
    assert result.conflicts == {("logs", 0): 20}
    assert result.durable == {("logs", 1): 5}
    assert rows(db, "SELECT partition, next_offset FROM offsets ORDER BY partition") == [(0, 20), (1, 5)]
    assert rows(db, "SELECT count(*) FROM events") == [(25,)]


def test_the_database_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    db = tmp_path / "deep" / "logs.db"
    sink = SqliteSink(str(db), no_dead_letters)
    sink.setup()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    sink.close()


def test_an_unwritable_location_is_a_clear_non_retriable_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    sink = SqliteSink(str(tmp_path / "file" / "logs.db"), no_dead_letters)
    with pytest.raises(SinkError) as failure:
        sink.setup()
    assert not failure.value.retriable
    assert "cannot open the SQLite database" in str(failure.value)


def test_search_is_newest_first_and_exact_even_when_arrival_order_is_not_time_order(tmp_path: Path) -> None:
    import random

    from consumer.sinks.base import SearchQuery
    from consumer.sinks.sqlite_reader import SqliteReader
    from schemas.timefmt import format_ns

    rng = random.Random(5)
    db = tmp_path / "logs.db"
    sink = SqliteSink(str(db), no_dead_letters)
    sink.setup()
    sink.stored_offsets([("logs", 0)])
    words = ("alpha", "beta", "gamma")
    events = make_events(30_000, body="x")
    for number, event in enumerate(events):
        # Common, rare and absent words; times jumbled against arrival order by up to a minute.
        event["body"] = f"{words[number % 3]} {'rare' if number % 7919 == 0 else ''} n{number}"
        event["timestamp"] = format_ns(1_767_225_600 * 10**9 + number * 10**6 + rng.randrange(60 * 10**9))
    for start in range(0, len(events), 5_000):
        sink.add(batch_of(sink, events[start:start + 5_000], first=start))
        sink.flush()
    sink.close()
    reader = SqliteReader(str(db))
    for text, limit in (("alpha", 20), ("beta", 3000), ("rare", 10), ("gamma n29999", 5), ("absent", 10)):
        got = [e["event_id"] for e in reader.search(SearchQuery(text=text, limit=limit))]
        wanted = [e for e in events if set(text.split()) <= set(str(e["body"]).split())]
        wanted.sort(key=lambda e: (e["timestamp"], int(str(e["event_id"])[16:], 16)), reverse=True)
        assert got == [e["event_id"] for e in wanted[:limit]], text
    reader.close()
