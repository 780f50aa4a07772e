"""When a batch is written (consumer/batching.py): after a short linger once the worker has caught up, on size while a
backlog lasts. The decisions are checked on the trigger itself; the outcomes with a real worker, broker and SQLite."""

import signal
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

from confluent_kafka import Producer

from consumer.batching import FlushTrigger
from schemas import serialize
from tests.consumer.helpers import make_events, produce, start_consumer, wait_for

# -- the trigger's decisions (no clock: every time is passed in) ------------------------------------------------


def trigger(*, max_events: int = 20_000, max_wait: float = 30.0, linger: float = 0.1) -> FlushTrigger:
    return FlushTrigger(max_events=max_events, max_bytes=1_048_576, max_wait=max_wait, linger=linger, idle_timeout=0.2)


def test_a_partly_filled_batch_is_due_after_the_linger_once_caught_up() -> None:
    t = trigger()
    t.consumed(100.0, asked=10_000, got=50, buffered_before=0)  # fewer than asked: the client's queue is empty
    assert t.caught_up
    assert not t.due(100.05, 50, 20_000)
    assert t.due(100.125, 50, 20_000)


def test_behind_a_batch_is_due_on_size_or_max_wait_only() -> None:
    t = trigger()
    t.consumed(100.0, asked=10_000, got=10_000, buffered_before=0)  # all it asked for: more is waiting
    assert not t.caught_up
    assert not t.due(101.0, 10_000, 4_000_000 // 4)  # long past the linger, neither full nor at max_wait
    assert t.due(130.0, 10_000, 1_000)  # max_wait
    assert t.due(100.01, 20_000, 1_000)  # full by count
    assert t.due(100.01, 10, 1_048_576)  # full by bytes


def test_the_wait_counts_from_the_start_of_the_call_that_brought_the_first_record() -> None:
    t = trigger()
    t.consumed(100.0, asked=10_000, got=100, buffered_before=0)  # returned at 100.125 after its whole timeout
    assert t.due(100.125, 100, 1_000)
    t.consumed(100.125, asked=9_900, got=10, buffered_before=100)  # a later call does not restart the batch's wait
    assert t.started == 100.0


def test_an_empty_batch_is_never_due() -> None:
    t = trigger()
    t.consumed(100.0, asked=10_000, got=0, buffered_before=0)
    assert not t.due(200.0, 0, 0)


def test_the_consume_timeout_never_passes_the_batchs_deadline() -> None:
    t = trigger(max_wait=0.5, linger=0.1)
    assert t.timeout(50.0, 0) == 0.2  # nothing buffered, nothing coming: the idle timeout
    t.consumed(100.0, asked=10_000, got=30, buffered_before=0)
    assert abs(t.timeout(100.04, 30) - 0.06) < 1e-9  # caught up: the linger's end
    assert t.timeout(100.3, 30) == 0.0  # past it: do not wait at all
    t.consumed(100.3, asked=10_000, got=10_000, buffered_before=30)
    assert abs(t.timeout(100.35, 10_030) - 0.15) < 1e-9  # behind: max_wait's end, at most the idle timeout
    assert t.timeout(100.05, 0) == 0.1  # records flowing, batch just written: the linger, not the idle timeout


def test_the_linger_is_never_longer_than_max_wait() -> None:
    t = trigger(max_wait=0.0625, linger=0.1)
    t.consumed(100.0, asked=10_000, got=1, buffered_before=0)
    assert t.linger == 0.0625
    assert t.due(100.0625, 1, 100)


def test_room_asks_for_what_fits_the_batch() -> None:
    t = trigger(max_events=5_000)
    assert t.room(0, 10_000) == 5_000
    assert t.room(4_000, 10_000) == 1_000
    assert t.room(5_000, 10_000) == 1  # full: one, while paused


# -- outcomes with a real worker process --------------------------------------------------------------------------


def worker_config(db: Path, bootstrap: str, topic: str, group: str, consumer: str) -> Path:
    """A consumer config for the SQLite sink at `db` with the [consumer] keys `consumer` (the batching ones)."""
    db.parent.mkdir(parents=True, exist_ok=True)
    config = db.parent / f"consumer-{group}.toml"
    config.write_text(
        f'[consumer]\nlog_format = "json"\nprogress = "off"\n{consumer}\n'
        f'[kafka]\nbootstrap_servers = "{bootstrap}"\ntopics = ["{topic}"]\ngroup_id = "{group}"\nsession_timeout_ms = 6000\n'
        f'[sink]\ntype = "sqlite"\npath = "{db}"\n'
    )
    return config


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def metric(address: str, name: str) -> float | None:
    try:
        text = urllib.request.urlopen(f"http://{address}/metrics", timeout=5).read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def indexed(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=30) as connection:
            return int(connection.execute("SELECT count(*) FROM events").fetchone()[0])
    except sqlite3.OperationalError:  # the worker has not created the table yet
        return 0


def stop(worker: subprocess.Popen[bytes], log: Path) -> None:
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(60)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
    assert worker.returncode == 0, log.read_text()[-3000:]


class Trickle(threading.Thread):
    """Produces events one every 10 ms, without pauses long enough for a consume() call to come back empty."""

    def __init__(self, bootstrap: str, topic: str, count: int) -> None:
        super().__init__(daemon=True)
        self.events = make_events(count, body="trickled")
        self.producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 1, "acks": "all"})
        self.topic = topic
        self.sent = 0
        self.stop = threading.Event()

    def run(self) -> None:
        for event in self.events:
            if self.stop.is_set():
                break
            self.producer.produce(self.topic, key=event["event_id"][:16].encode(), value=serialize(event))
            self.producer.poll(0)
            self.sent += 1
            time.sleep(0.01)
        self.producer.flush(30)


def test_a_trickle_is_searchable_long_before_a_batch_fills_or_its_max_wait(
    tmp_path: Path, db_path: Path, kafka_bootstrap: str, kafka_topic: str, group_id: str
) -> None:
    # Before the trigger, records that never paused for a whole consume() timeout waited for batch_max_wait.
    config = worker_config(db_path, kafka_bootstrap, kafka_topic, group_id, "batch_max_wait = 60")
    log = tmp_path / "worker.log"
    worker = start_consumer("run", "--config", str(config), log=log)
    trickle = Trickle(kafka_bootstrap, kafka_topic, 3_000)  # 30 s of records, about 100 a second
    try:
        wait_for(lambda: db_path.exists() and "Partitions assigned." in log.read_text(), 60, "the assignment")
        trickle.start()
        # Generous for a loaded machine, and far below batch_max_wait (60 s) and the trickle's 30 s.
        wait_for(lambda: indexed(db_path) > 0, 20, "the first trickled events in the index")
        assert trickle.is_alive(), "the trickle ended before anything was searchable"
        trickle.stop.set()
        trickle.join(60)
        wait_for(lambda: indexed(db_path) == trickle.sent, 30, "every trickled event in the index")
    finally:
        trickle.stop.set()
        stop(worker, log)
    assert indexed(db_path) == trickle.sent


def test_a_backlog_is_written_in_full_batches(
    tmp_path: Path, db_path: Path, kafka_bootstrap: str, kafka_topic: str, group_id: str
) -> None:
    total, batch = 60_000, 20_000  # batch_max_events' default
    produce(kafka_bootstrap, kafka_topic, make_events(total))
    address = f"127.0.0.1:{free_port()}"
    # batch_max_wait out of the way: on a loaded machine decoding a batch may take longer than its default.
    config = worker_config(db_path, kafka_bootstrap, kafka_topic, group_id,
                           f'batch_max_wait = 30\nmetrics_address = "{address}"')
    log = tmp_path / "worker.log"
    worker = start_consumer("run", "--config", str(config), log=log)
    try:
        wait_for(lambda: metric(address, "logferry_consumer_indexed_events_total") == total, 120, "the backlog indexed")
        flushes = metric(address, "logferry_consumer_batch_seconds_count")
    finally:
        stop(worker, log)
    assert indexed(db_path) == total
    # Full batches: 3, perhaps one or two cut short while the first fetches come in. Batches cut by the linger would
    # be more: decoding 20,000 records takes longer than the linger.
    assert flushes is not None and total / batch <= flushes <= total / batch + 2, flushes
