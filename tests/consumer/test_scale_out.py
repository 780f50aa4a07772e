"""Scale-out proof: three `consumer run` workers in one group, one of them killed with SIGKILL every few seconds and
restarted at once while events stream into the topic; afterwards the index holds every event produced, each once, and
no dead letter. On SQLite (three workers sharing one database file) and on each search engine.

CI runs 30,000 events over 8 partitions for about 30 s; by hand, `LOGFERRY_SCALE_EVENTS=300000` (and
`LOGFERRY_SCALE_SECONDS`, how long production lasts) runs the full-size proof and prints its figures (`-s`).
"""

import os
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest
from confluent_kafka import Consumer, ConsumerGroupState, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from consumer.sinks.sqlite_db import fts_rows
from schemas import serialize
from tests.consumer.helpers import make_events
from tests.support import engine_index
from tests.support.kafka import new_topic
from tests.support.polling import poll_until
from tests.support.workers import Killer, WorkerGroup

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

WORKERS = 3
PARTITIONS = 8
FILES = 3 * PARTITIONS  # each partition is written by three files at once
EVENTS = int(os.environ.get("LOGFERRY_SCALE_EVENTS", "30000"))
PRODUCE_SECONDS = float(os.environ.get("LOGFERRY_SCALE_SECONDS", "30"))
KILL_EVERY = (2.0, 5.0)  # seconds between two kills, drawn at random between these
SESSION_TIMEOUT = "6s"  # the broker's smallest (group.min.session.timeout.ms): a restart within it is a static rejoin
MIN_KILLS = 3  # fewer and the run proved little: the test fails rather than pass on a quiet run

# The search engines the proof runs on: sink type -> the session fixture giving the node's URL, and the marker; the
# rest (config, reading the index back over HTTP) is the same for both engines.
ENGINES: dict[str, tuple[str, pytest.MarkDecorator]] = {
    "opensearch": ("opensearch_url", pytest.mark.opensearch),
    "elasticsearch": ("elasticsearch_url", pytest.mark.elasticsearch),
}
SINKS = [pytest.param("sqlite", id="sqlite"),
         *(pytest.param(kind, marks=mark, id=kind) for kind, (_fixture, mark) in ENGINES.items())]


class IndexUnderTest(Protocol):
    """A sink the workers write to, and how the test reads back what it holds."""

    kind: str

    def sink_section(self) -> str:
        """The `[sink]` table of the workers' config."""

    def count(self) -> int:
        """Events indexed so far (transient errors raise one of `busy`)."""

    def ids(self) -> list[str]:
        """The event_id of every indexed event, one entry per stored copy."""

    def dead_letters(self) -> int:
        """Dead letters the sink recorded."""

    @property
    def busy(self) -> tuple[type[BaseException], ...]:
        """What a read raises while the index is busy: ask again."""


@dataclass
class SqliteIndex:
    path: Path
    kind: str = "sqlite"

    def sink_section(self) -> str:
        return f'[sink]\ntype = "sqlite"\npath = "{self.path}"\n'

    def _one(self, sql: str) -> int:
        if not self.path.exists():
            return 0
        with sqlite3.connect(self.path, timeout=30) as connection:
            return int(connection.execute(sql).fetchone()[0])

    def count(self) -> int:
        return self._one("SELECT count(*) FROM events")

    def ids(self) -> list[str]:
        with sqlite3.connect(self.path, timeout=30) as connection:
            ids = [row[0].hex() for row in connection.execute("SELECT event_id FROM events")]
        with sqlite3.connect(self.path, timeout=30) as connection:
            # A contentless FTS5 table cannot be counted with count(*): the sink's own reading of its row count.
            assert fts_rows(connection) == len(ids), "the full-text index and the rows differ"
        return ids

    def dead_letters(self) -> int:
        return self._one("SELECT count(*) FROM dead_letters")

    @property
    def busy(self) -> tuple[type[BaseException], ...]:
        return (sqlite3.OperationalError,)  # locked by a writer, or the schema not created yet


@dataclass
class EngineIndex:
    kind: str
    url: str
    prefix: str

    def sink_section(self) -> str:
        return (f'[sink]\ntype = "{self.kind}"\nurl = "{self.url}"\nindex_prefix = "{self.prefix}"\n'
                'retry_attempts = 2\n')

    def count(self) -> int:
        return engine_index.count(self.url, f"{self.prefix}-events-*")

    def ids(self) -> list[str]:
        return engine_index.all_ids(self.url, f"{self.prefix}-events-*")

    def dead_letters(self) -> int:
        return engine_index.count(self.url, f"{self.prefix}-deadletters")

    @property
    def busy(self) -> tuple[type[BaseException], ...]:
        return (engine_index.EngineBusy,)


@pytest.fixture(params=SINKS)
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[IndexUnderTest]:
    kind: str = request.param
    if kind == "sqlite":
        path = tmp_path / "index" / "logs.db"
        path.parent.mkdir(parents=True)
        yield SqliteIndex(path)
        return
    url: str = request.getfixturevalue(ENGINES[kind][0])
    prefix = f"scale{uuid.uuid4().hex[:10]}"
    try:
        yield EngineIndex(kind, url, prefix)
    finally:
        engine_index.delete_prefix(url, prefix)  # a 300k run leaves a few hundred MB on the shared node otherwise


@pytest.fixture
def topic(kafka_bootstrap: str) -> str:
    return new_topic(kafka_bootstrap, partitions=PARTITIONS, prefix="scale")


def worker_config(directory: Path, bootstrap: str, topic: str, index: IndexUnderTest) -> Path:
    """The config file all workers of the test run from: a fresh group, the short session timeout."""
    config = directory / "consumer.toml"
    # Small batches: kills land between many writes, not after the last one.
    config.write_text(
        '[consumer]\nlog_format = "json"\nprogress = "off"\nbatch_max_events = 1000\nbatch_max_wait = "200ms"\n'
        'retry_max = "2s"\n'
        f'[kafka]\nbootstrap_servers = "{bootstrap}"\ntopics = ["{topic}"]\ngroup_id = "scale-{uuid.uuid4().hex[:8]}"\n'
        f'session_timeout_ms = "{SESSION_TIMEOUT}"\n' + index.sink_section()
    )
    return config


@pytest.fixture
def workers(tmp_path: Path, kafka_bootstrap: str, topic: str, index: IndexUnderTest) -> Iterator[WorkerGroup]:
    """Three workers of a fresh group, not started yet; every process of theirs is killed at the end, whatever
    happened."""
    group = WorkerGroup(worker_config(tmp_path, kafka_bootstrap, topic, index), tmp_path / "logs", WORKERS)
    try:
        yield group
    finally:
        group.kill_all()


def stream(bootstrap: str, topic: str, total: int, seconds: float) -> list[str]:
    """Produce `total` events of FILES files at an even pace over `seconds` s, file n into partition n % PARTITIONS
    (in order within each file, as a shipper would); their event ids, once every one was acknowledged."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 20})
    failures: list[object] = []

    def delivered(error: object, _message: object) -> None:
        if error is not None:
            failures.append(error)

    sizes = [total // FILES + (number < total % FILES) for number in range(FILES)]
    ticks = max(1, int(seconds * 10))  # a chunk every 0.1 s
    produced: list[str] = []
    started = time.monotonic()
    for tick in range(ticks):
        for number, size in enumerate(sizes):
            first, last = size * tick // ticks, size * (tick + 1) // ticks
            for event in make_events(last - first, file=f"dev:1/ino:{number}", start=first, service=f"svc{number % 4}"):
                _produce(producer, topic, number % PARTITIONS, event["event_id"][:16].encode(), serialize(event),
                         delivered=delivered)
                produced.append(event["event_id"])
        producer.poll(0)
        pause = started + (tick + 1) * seconds / ticks - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    assert producer.flush(120) == 0, "the producer could not deliver every event"
    assert failures == [], failures[:3]
    assert len(produced) == total
    return produced


def _produce(producer: Producer, topic: str, partition: int, key: bytes, value: bytes, *, delivered: Any) -> None:
    while True:
        try:
            producer.produce(topic, key=key, value=value, partition=partition, on_delivery=delivered)
            return
        except BufferError:
            producer.poll(0.1)


def records_in(bootstrap: str, topic: str) -> int:
    """Records in every partition of `topic` (0 when it does not exist)."""
    reader = Consumer({"bootstrap.servers": bootstrap, "group.id": f"count-{uuid.uuid4().hex[:8]}"})
    try:
        metadata = reader.list_topics(topic, timeout=30).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return 0
        total = 0
        for partition in metadata.partitions:
            low, high = reader.get_watermark_offsets(TopicPartition(topic, partition), timeout=30)
            total += high - low
        return total
    finally:
        reader.close()


def test_three_workers_one_killed_every_few_seconds_index_every_event_exactly_once(
    kafka_bootstrap: str, topic: str, index: IndexUnderTest, workers: WorkerGroup
) -> None:
    started = time.monotonic()
    workers.start()
    killer = Killer(workers, KILL_EVERY)
    killer.start()
    try:
        try:
            produced = stream(kafka_bootstrap, topic, EVENTS, PRODUCE_SECONDS)
        finally:
            killer.stop()
        produced_in = time.monotonic() - started
        assert workers.kills >= MIN_KILLS, f"only {workers.kills} kills while producing: the run proved little"

        def count_while_all_run() -> int:
            assert workers.exited() == {}, f"workers exited by themselves (exit codes): {workers.exited()}"
            return index.count()

        indexed = poll_until(count_while_all_run, lambda n: n >= len(produced), deadline=240 + len(produced) / 200,
                             what=f"{len(produced)} events indexed", transient=index.busy, interval=1.0)
        caught_up_in = time.monotonic() - started
        # Every worker restarted after a kill is back in the group with partitions of its own (a static member
        # restarted within the session timeout takes its old ones back): none is left out.
        for worker in workers.workers:
            poll_until(worker.current_log, lambda text: "Partitions assigned" in text, deadline=120,
                       what=f"worker {worker.number} (started {worker.starts} times) to hold partitions")
        codes = workers.stop()
        assert codes == dict.fromkeys(range(WORKERS), 0), f"exit codes after SIGTERM: {codes}"
        ids = poll_until(index.ids, lambda _ids: True, deadline=120, what="the indexed ids", transient=index.busy)
        duplicates = [event_id for event_id, n in Counter(ids).items() if n > 1]
        assert duplicates == [], f"{len(duplicates)} events indexed more than once, e.g. {duplicates[:3]}"
        missing = set(produced) - set(ids)
        assert not missing, f"{len(missing)} events produced but not indexed, e.g. {sorted(missing)[:3]}"
        assert set(ids) == set(produced) and len(ids) == len(produced)
        assert index.dead_letters() == 0
        assert records_in(kafka_bootstrap, topic + ".deadletter") == 0
    except BaseException:
        print(workers.digest())
        print("kills (seconds from the start, worker):", [(round(at - started, 1), n) for at, n in killer.history])
        raise
    print(f"\nscale-out on {index.kind}: {len(produced)} events over {PARTITIONS} partitions, {WORKERS} workers, "
          f"{workers.kills} kills; produced in {produced_in:.1f} s, all indexed after {caught_up_in:.1f} s "
          f"(indexed {indexed}, produced {len(produced)}, unique ids {len(set(ids))})")


def owned_partitions(bootstrap: str, group_id: str) -> int | None:
    """Partitions the members of the stable group own, in all; None while it rebalances."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    description = admin.describe_consumer_groups([group_id], request_timeout=10)[group_id].result(timeout=15)
    if description.state != ConsumerGroupState.STABLE:
        return None
    return sum(len(member.assignment.topic_partitions) for member in description.members)


def test_a_static_worker_killed_while_it_revokes_in_a_rebalance_leaves_no_partition_unread(
    kafka_bootstrap: str, topic: str, tmp_path: Path
) -> None:
    """A cooperative rebalance hands partitions over in two steps: their owner is told to give them up (and the leader
    gives them to nobody yet); once it has, it joins again and the second rebalance gives them to their new owners.
    Killed between the two and restarted within the session timeout, the static owner replaced itself without a
    rebalance, with the reduced assignment and nothing to give up: nobody joined again, and the withheld partitions
    stayed unread for good (seen in the scale-out proof: 5 of 8 partitions unread for 6 minutes, until the test gave
    up). Here the first worker holds every partition, its revocation is made slow (its database locked while the two
    others join) and it is killed meanwhile."""
    db = tmp_path / "index" / "logs.db"
    db.parent.mkdir(parents=True)
    index = SqliteIndex(db)
    config = worker_config(tmp_path, kafka_bootstrap, topic, index)
    group_id = config.read_text().split('group_id = "', 1)[1].split('"', 1)[0]
    workers = WorkerGroup(config, tmp_path / "logs", WORKERS)
    production = ThreadPoolExecutor(max_workers=1, thread_name_prefix="producer")
    try:
        first = workers.start_one(0)
        produced = production.submit(stream, kafka_bootstrap, topic, 12_000, 30.0)
        poll_until(first.current_log, lambda text: "Partitions assigned" in text, deadline=90, what="the first worker assigned")
        time.sleep(2)  # it consumes every partition
        others = [workers.start_one(1), workers.start_one(2)]
        for worker in others:
            poll_until(worker.current_log, lambda text: "Consuming." in text, deadline=90, what="the others joining",
                       interval=0.05)
        lock = sqlite3.connect(db, timeout=30, isolation_level=None)
        try:
            lock.execute("BEGIN EXCLUSIVE")  # the first worker's write, and so its revocation, waits for this
            time.sleep(4)  # the rebalance the others started reaches the first worker (its heartbeat, every 3 s)
            withheld = owned_partitions(kafka_bootstrap, group_id)
            workers.kill_and_restart(0)
        finally:
            lock.close()
        ids = produced.result(timeout=120)
        poll_until(lambda: owned_partitions(kafka_bootstrap, group_id), lambda n: n == PARTITIONS, deadline=120,
                   what=f"all {PARTITIONS} partitions owned", transient=(KafkaException,), interval=1.0)
        poll_until(index.count, lambda n: n >= len(ids), deadline=120, what=f"{len(ids)} events indexed",
                   transient=index.busy, interval=1.0)
        assert workers.stop() == dict.fromkeys(range(WORKERS), 0)
        assert sorted(index.ids()) == sorted(ids)
    except BaseException:
        print(workers.digest())
        raise
    finally:
        workers.kill_all()
        production.shutdown(wait=True, cancel_futures=True)
    print(f"\npartitions owned while the first worker was revoking: {withheld} of {PARTITIONS}")


def test_the_unowned_watch_asks_one_member_to_rejoin_after_two_looks_and_the_next_if_that_did_not_help() -> None:
    from types import SimpleNamespace

    from consumer.config import parse_config
    from consumer.membership import UnownedWatch

    def member(member_id: str, *partitions: int) -> SimpleNamespace:
        return SimpleNamespace(member_id=member_id, assignment=SimpleNamespace(
            topic_partitions=[SimpleNamespace(topic="logs", partition=p) for p in partitions]))

    members = [member("c", 5, 6, 7), member("b"), member("a")]
    watch = UnownedWatch(parse_config({}))
    unowned = {("logs", p) for p in range(5)}
    watch.look((unowned, members))
    assert watch.due(lambda: "a") is None  # one look: may be the pause between the two steps of a rebalance
    watch.look(None)  # a rebalance going on: no verdict, and the count of looks stands
    watch.look((unowned, members))
    assert watch.due(lambda: "b") is None  # not b's turn: a and b own nothing; a's id sorts first
    watch.look((unowned, members))
    assert watch.due(lambda: "b") == frozenset(unowned)  # a's rejoin did not help: b's turn
    assert watch.due(lambda: "b") is None  # once
    watch.look((set(), members))  # all owned again
    watch.look((unowned, members))
    assert watch.due(lambda: "a") is None  # the count starts again
