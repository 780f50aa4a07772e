"""The SQLite sink's WAL (consumer/sinks/sqlite_checkpoint.py): a flush never checkpoints it, a thread of its own does,
and it stays bounded while a backfill writes without a pause, a reader polling all the while."""

import itertools
import sqlite3
import threading
from pathlib import Path

import pytest

from consumer.records import Batch
from consumer.sinks import sqlite_db
from consumer.sinks.sqlite import SqliteSink
from schemas import serialize
from tests.consumer.helpers import make_events
from tests.support.polling import poll_until

LIMIT = 1_048_576  # WAL_CHECKPOINT_BYTES in these tests: the old automatic checkpoint's threshold, the restart bound


def no_dead_letters(_letters: object) -> None:
    raise AssertionError("no dead letters expected")


class Writer:
    """A sink on partition ("logs", 0) that writes batches at consecutive offsets."""

    def __init__(self, db: Path) -> None:
        self.sink = SqliteSink(str(db), no_dead_letters)
        self.sink.setup()
        self.sink.stored_offsets([("logs", 0)])
        self.offset = 0

    def write(self, count: int) -> None:
        batch = Batch()
        for event in make_events(count, start=self.offset):
            batch.items.append(self.sink.prepare(event, serialize(event)))
            batch.sources.append(("logs", 0, self.offset))
            self.offset += 1
        batch.next_offsets[("logs", 0)] = self.offset
        self.sink.add(batch)
        self.sink.flush()


def size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


@pytest.fixture
def small_wal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_db, "WAL_CHECKPOINT_BYTES", LIMIT)


@pytest.mark.usefixtures("small_wal")
def test_a_flush_never_checkpoints_the_wal(tmp_path: Path) -> None:
    """With the checkpoint thread stopped, flushes take the WAL past the size at which SQLite's automatic checkpoint
    would have copied it back inside a commit: the main file is not written at all."""
    db = tmp_path / "logs.db"
    wal = Path(str(db) + "-wal")
    writer = Writer(db)
    try:
        (pages,) = writer.sink.connection.execute("PRAGMA wal_autocheckpoint").fetchone()
        assert pages == 0
        checkpointer = writer.sink.checkpointer
        assert checkpointer is not None
        checkpointer.close()  # the thread stops: from here on, only a flush could checkpoint
        before = db.stat()
        flushes = 0
        while size(wal) <= LIMIT * 5 // 4:
            writer.write(100)
            flushes += 1
            assert flushes < 1_000, "the WAL does not grow"
        assert size(wal) < 2 * LIMIT  # below the writer's own last-resort bound: it must not have run either
        after = db.stat()
        assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
        # Everything is in the WAL, readable as usual.
        with sqlite3.connect(db) as reader:
            assert reader.execute("SELECT count(*) FROM events").fetchone() == (writer.offset,)
    finally:
        writer.sink.close()


@pytest.mark.usefixtures("small_wal")
def test_the_checkpoint_thread_copies_the_wal_back(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    writer = Writer(db)
    try:
        before = size(db)
        writer.write(2_000)
        checkpointer = writer.sink.checkpointer
        assert checkpointer is not None
        poll_until(lambda: checkpointer.last, lambda last: last is not None and last.wal_frames > 0
                   and last.checkpointed_frames == last.wal_frames and size(db) > before,
                   deadline=30, what="a checkpoint that copied the whole WAL into the database", interval=0.05)
    finally:
        writer.sink.close()


class Poller(threading.Thread):
    """A reader asking for new rows every 10 ms in short read transactions, as the console or freshness.py do."""

    def __init__(self, db: Path) -> None:
        super().__init__(daemon=True)
        self.db = db
        self.stop = threading.Event()
        self.reads = 0

    def run(self) -> None:
        connection = sqlite3.connect(self.db, timeout=30)
        try:
            last = 0
            while not self.stop.wait(0.01):
                rows = connection.execute("SELECT id FROM events WHERE id > ? ORDER BY id", (last,)).fetchall()
                self.reads += 1
                if rows:
                    last = rows[-1][0]
        finally:
            connection.close()


@pytest.mark.usefixtures("small_wal")
def test_the_wal_stays_bounded_during_a_backfill(tmp_path: Path) -> None:
    """Batches written back to back, with a reader polling all the while: the WAL is started anew again and again
    during the backfill, and never holds more than a fraction of what went through it."""
    db = tmp_path / "logs.db"
    wal = Path(str(db) + "-wal")
    writer = Writer(db)
    poller = Poller(db)
    poller.start()
    sizes = []
    try:
        for _ in range(500):
            writer.write(250)
            sizes.append(size(wal))
        total = size(db)
    finally:
        poller.stop.set()
        poller.join(30)
        writer.sink.close()
    assert poller.reads > 0
    assert total > 16 * LIMIT, total  # what went through the WAL: the database holds it all
    # How far beyond twice the bound the file gets depends on the scheduling: a RESTART never waits, so it fails while
    # the poller is mid-read or the thread holds the checkpoint lock, and the commits meanwhile grow the WAL (up to
    # 6 bounds at a load of 2, more at 8). What holds whatever the load: the file is cut back many times, and it
    # never holds more than a third of what the backfill wrote; unbounded, it would hold all of it.
    cut_back = sum(1 for before, after in itertools.pairwise(sizes) if after < before)
    assert cut_back >= 3, (cut_back, sizes)
    assert max(sizes) <= total / 3, (max(sizes), total, sizes)
