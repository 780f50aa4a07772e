"""SQLite retention: events older than the retention (by their timestamp) leave search, counts and the full-text
index, newer ones stay, offsets are never touched; dead letters expire on their own clock; in steady state (as much
written as expires) the file stops growing, and once expired pages pile up they go back to the file system."""

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from consumer.config import parse_config
from consumer.records import Batch, DeadLetter
from consumer.sinks.base import SearchQuery
from consumer.sinks.sqlite import SqliteSink
from consumer.sinks.sqlite_db import fts_rows
from consumer.sinks.sqlite_reader import SqliteReader
from consumer.sinks.sqlite_retention import Retention
from consumer.sinks.sqlite_settings import SqliteSettings
from logferry.errors import ConfigError
from schemas import serialize
from schemas.timefmt import format_ns
from tests.consumer.helpers import BASE_NS, make_events

DAY_NS = 86_400 * 1_000_000_000


def no_dead_letters(letters: list[DeadLetter]) -> None:
    return None


class Clock:
    """The retention's "now", set by the test."""

    def __init__(self, now_ns: int) -> None:
        self.now_ns = now_ns

    def __call__(self) -> int:
        return self.now_ns


class Writer:
    """A sink on partition ("logs", 0) that appends batches at consecutive offsets."""

    def __init__(self, db: Path, retention: Retention) -> None:
        self.sink = SqliteSink(str(db), no_dead_letters, retention)
        self.sink.setup()
        self.sink.stored_offsets([("logs", 0)])
        self.offset = 0

    def write(self, events: list[dict[str, Any]], dead: int = 0) -> None:
        batch = Batch()
        for event in events:
            batch.items.append(self.sink.prepare(event, serialize(event)))
            batch.sources.append(("logs", 0, self.offset))
            self.offset += 1
        for _ in range(dead):
            batch.dead_letters.append(
                DeadLetter(topic="logs", partition=0, offset=self.offset, key=None, raw=b"{x}", error="not JSON", size=3)
            )
            self.offset += 1
        batch.next_offsets[("logs", 0)] = self.offset
        self.sink.add(batch)
        self.sink.flush()

    def expire(self, retention: Retention, now_ns: int) -> None:
        retention.clock = lambda: now_ns
        while retention.turn(self.sink.connection):
            pass

    def pragma(self, name: str) -> int:
        (value,) = self.sink.connection.execute(f"PRAGMA {name}").fetchone()
        return int(value)


def aged(events: list[dict[str, Any]], timestamp_ns: int) -> list[dict[str, Any]]:
    for i, event in enumerate(events):
        event["timestamp"] = format_ns(timestamp_ns + i * 1_000_000)
    return events


def test_expired_events_leave_search_counts_and_fts_and_newer_ones_and_offsets_stay(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    now = BASE_NS + 30 * DAY_NS
    clock = Clock(BASE_NS)  # nothing expired yet while the batches are written
    retention = Retention(14 * 86_400, rows_per_turn=500, clock=clock)
    writer = Writer(db, retention)
    old = aged(make_events(3_000, body="old words here"), now - 20 * DAY_NS)
    new = aged(make_events(2_000, start=3_000, body="new words here"), now - 2 * DAY_NS)
    writer.write(old[:1_500])
    writer.write(new[:1_000] + old[1_500:])  # one batch with both: its blocks are half expired
    writer.write(new[1_000:])
    assert fts_rows(writer.sink.connection) == 5_000
    writer.expire(retention, now)

    reader = SqliteReader(str(db))
    assert reader.totals() == (2_000, 0)
    assert fts_rows(writer.sink.connection) == 2_000
    assert reader.search(SearchQuery(text="old", limit=10_000)) == []
    assert reader.search(SearchQuery(text="words", limit=10_000)) == sorted(new, key=lambda e: e["timestamp"], reverse=True)
    assert reader.oldest_timestamp() == new[0]["timestamp"]
    assert reader.stored_offsets() == {("logs", 0): 5_000}
    (blocks,) = writer.sink.connection.execute(
        "SELECT count(*) FROM blocks WHERE NOT EXISTS (SELECT 1 FROM events WHERE id >= blocks.id AND id < blocks.id + "
        "blocks.slots)"
    ).fetchone()
    assert blocks == 0  # no block is left without rows
    reader.close()
    writer.sink.close()


def test_dead_letters_expire_by_the_time_they_were_received_and_keep_forever_by_default(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    keep = Retention()
    writer = Writer(db, keep)
    writer.write(make_events(10), dead=5)
    writer.expire(keep, BASE_NS + 10_000 * DAY_NS)
    assert SqliteReader(str(db)).totals() == (10, 5)
    dead_only = Retention(0, 7 * 86_400)
    dead_only.turn(writer.sink.connection)  # received just now: kept
    assert SqliteReader(str(db)).totals() == (10, 5)
    writer.expire(dead_only, time.time_ns() + 8 * DAY_NS)
    assert SqliteReader(str(db)).totals() == (10, 0)  # the events, timestamped long ago, stay: no event retention
    writer.sink.close()


def test_in_steady_state_the_file_stops_growing_and_freed_pages_go_back(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    clock = Clock(BASE_NS)
    retention = Retention(5 * 86_400, rows_per_turn=1_000, free_pages_kept=0, clock=clock)
    writer = Writer(db, retention)
    assert writer.pragma("auto_vacuum") == 2  # incremental, for a new file
    pages = []
    used = []
    day = BASE_NS
    for n in range(24):  # a day of 2,000 events per round, kept 5 days
        clock.now_ns = day
        writer.write(aged(make_events(2_000, start=n * 2_000), day))
        writer.expire(retention, day + DAY_NS)
        pages.append(writer.pragma("page_count"))
        used.append(pages[-1] - writer.pragma("freelist_count"))
        day += DAY_NS
    # The live rows are constant from round 5 on: the pages in use stop growing, and the file with them (the margin:
    # FTS5 segments merge in steps, and a turn hands back at most VACUUM_STEP free pages).
    assert max(used[14:]) <= max(used[5:14]) * 1.1, used
    assert max(pages[14:]) <= max(pages[5:14]) * 1.25, pages
    assert SqliteReader(str(db)).totals()[0] == 5 * 2_000

    # Everything expires: the pages go back to the file system in small steps.
    full = writer.pragma("page_count")
    retention.clock = Clock(day + 100 * DAY_NS)
    for _ in range(1_000):
        behind = retention.turn(writer.sink.connection)
        if not behind and writer.pragma("freelist_count") == 0 and SqliteReader(str(db)).totals()[0] == 0:
            break
    assert writer.pragma("freelist_count") == 0
    assert writer.pragma("page_count") < full // 4, (writer.pragma("page_count"), full)
    assert SqliteReader(str(db)).totals()[0] == 0
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    writer.sink.close()


def test_retention_settings_take_durations_and_refuse_negative_ones() -> None:
    sink = parse_config({"sink": {"type": "sqlite", "retention": "14d", "deadletter_retention": "36h"}}).sink
    assert isinstance(sink, SqliteSettings)
    assert (sink.retention, sink.deadletter_retention) == (14 * 86_400, 36 * 3_600)
    defaults = parse_config({}).sink
    assert isinstance(defaults, SqliteSettings) and (defaults.retention, defaults.deadletter_retention) == (0, 0)
    with pytest.raises(ConfigError) as refused:
        parse_config({"sink": {"type": "sqlite", "retention": -5}})
    assert "sink.retention" in str(refused.value)


def test_the_wal_shrinks_back_to_its_limit_once_a_reader_lets_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader holding a snapshot during a backfill lets the WAL grow (no checkpoint can finish); once it lets go,
    the WAL is checkpointed and cut back near its bound within a few commits instead of staying as large as it grew."""
    from consumer.sinks import sqlite_db

    limit = 256 * 1024
    monkeypatch.setattr(sqlite_db, "WAL_CHECKPOINT_BYTES", limit)
    db = tmp_path / "logs.db"
    writer = Writer(db, Retention())
    wal = Path(str(db) + "-wal")
    reader = sqlite3.connect(db)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM events").fetchone()  # a snapshot: checkpoints cannot pass it
    for n in range(20):
        writer.write(make_events(1_000, start=n * 1_000))
    grown = wal.stat().st_size
    assert grown > 32 * limit
    reader.execute("COMMIT")
    reader.close()
    # The checkpoint thread restarts the WAL once it passes its bound, and the writer itself once it is over twice
    # the bound (the thread may be busy at that moment: then at a later commit); a restarted WAL is cut back to
    # journal_size_limit, and each commit then adds its own pages (up to 4 bounds' worth for these 100 events, with
    # the FTS and the indexes). So within a few commits, and from then on, the file stays within twice the bound plus
    # a commit's pages: far below what it grew to. Where each size falls between those depends on when the thread
    # runs, so only the bound is asserted.
    sizes = []
    for n in range(40):
        writer.write(make_events(100, start=20_000 + n * 100))
        sizes.append(wal.stat().st_size)
    assert max(sizes[10:]) <= 8 * limit, sizes
    writer.sink.close()


def test_an_idle_worker_still_expires_events_as_they_age(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, group_id: str
) -> None:
    from tests.consumer.helpers import produce, sqlite_config, start_consumer, wait_for

    db = tmp_path / "logs.db"
    # Events written now, kept 8 s: they are young when indexed and expire while nothing arrives.
    produce(kafka_bootstrap, kafka_topic, aged(make_events(50), time.time_ns()))
    config = sqlite_config(db, kafka_bootstrap, kafka_topic, group_id)
    config.write_text(config.read_text() + 'retention = "8s"\n')
    worker = start_consumer("run", "--config", str(config), log=tmp_path / "worker.log")
    try:
        wait_for(lambda: db.exists() and _count(db) == 50, 60, "the events indexed")
        wait_for(lambda: _count(db) == 0, 60, "the idle worker's retention to expire them")
    finally:
        worker.terminate()
        worker.wait(60)
    assert "Stopped." in (tmp_path / "worker.log").read_text()


def _count(db: Path) -> int:
    reader = SqliteReader(str(db))
    try:
        return reader.totals()[0]
    except sqlite3.Error:
        return -1
    finally:
        reader.close()
