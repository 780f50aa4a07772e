"""The consumer group's lifecycle against the real broker: `run --once` means caught up, a static member restarted after
kill -9 takes its partitions back at once, a stopping one leaves, and replay says why it refuses."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka.admin import AdminClient

from consumer.catchup import CatchUp, CatchUpState
from consumer.config import parse_config
from consumer.membership import (
    FENCING_QUIET,
    REJOIN_DELAY,
    REJOINS_IN_A_ROW,
    FencedBy,
    Fencings,
    client_process,
    derived_instance_id,
    membership_for,
    take_slot,
)
from tests.consumer.helpers import (
    fts_count,
    indexed_ids,
    make_events,
    produce,
    run_consumer,
    start_consumer,
    wait_for,
)
from tests.support.kafka import local_kafka, new_topic

pytestmark = pytest.mark.kafka

# The figure. The test takes ~80 s on a loaded 2-core box, most of it the killed worker's 45 s session.
KILL_TEST_EVENTS = 400_000


def lifecycle_config(db: Path, bootstrap: str, topic: str, group: str, *, session_ms: int, name: str = "",
                     extra: str = "") -> Path:
    """A SQLite consumer config with the given session timeout."""
    db.parent.mkdir(parents=True, exist_ok=True)
    config = db.parent / f"consumer-{name or group}.toml"
    config.write_text(
        f'[consumer]\nlog_format = "json"\nprogress = "off"\nbatch_max_wait = 0.2\n{extra}\n'
        f'[kafka]\nbootstrap_servers = "{bootstrap}"\ntopics = ["{topic}"]\ngroup_id = "{group}"\n'
        f"session_timeout_ms = {session_ms}\n"
        f'[sink]\ntype = "sqlite"\npath = "{db}"\n'
    )
    return config


def spread_events(total: int, files: int, start: int = 0) -> list[dict[str, Any]]:
    """`total` events of `files` files (keys spread over the partitions)."""
    events: list[dict[str, Any]] = []
    for number in range(files):
        events += make_events(total // files, file=f"dev:1/ino:{number}", start=start)
    return events


def count(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=30) as connection:
            return int(connection.execute("SELECT count(*) FROM events").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def stored_offsets(db: Path) -> dict[tuple[str, int], int]:
    try:
        with sqlite3.connect(db, timeout=30) as connection:
            rows = connection.execute("SELECT topic, partition, next_offset FROM offsets").fetchall()
    except sqlite3.OperationalError:
        return {}
    return {(str(t), int(p)): int(o) for t, p, o in rows}


def assert_exactly(db: Path, events: list[dict[str, Any]]) -> None:
    ids = indexed_ids(db)
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    assert set(ids) == {str(e["event_id"]) for e in events}
    assert fts_count(db) == len(ids)


def log_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            lines.append(orjson.loads(line))
    return lines


def lines_with(path: Path, message: str) -> list[dict[str, Any]]:
    return [line for line in log_lines(path) if line.get("msg") == message] if path.exists() else []


def log_time(line: dict[str, Any]) -> float:
    return datetime.fromisoformat(line["ts"].replace("Z", "+00:00")).timestamp()


def kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(30)


def stop(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


def group_members(bootstrap: str, group: str) -> list[Any]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    return list(admin.describe_consumer_groups([group])[group].result(timeout=15).members)


# --- unit checks of the pieces -----------------------------------------------------------------------------------


def test_a_fencing_rejoins_unless_the_member_that_took_the_instance_id_outlives_its_session() -> None:
    fencings = Fencings("logferry-h-0")
    # Still held after a session timeout: a live worker heartbeats with the same id; stop at once, saying so.
    another = Fencings("indexer-1").verdict(True, now=0.0)
    assert another.fenced_by is FencedBy.ANOTHER_WORKER and another.rejoin_in is None
    assert another.reason == ("Kafka fenced this worker: another worker joined the group with the same group.instance.id "
                              "'indexer-1'; give each worker its own [consumer] worker_index or [kafka] group_instance_id")
    # Expired: a join of its own; rejoin, later each time in a row; no answer: rejoin too.
    first = fencings.verdict(False, now=0.0)
    assert first.fenced_by is FencedBy.OWN_JOIN and first.rejoin_in == REJOIN_DELAY
    unknown = fencings.verdict(None, now=1.0)
    assert unknown.fenced_by is FencedBy.UNKNOWN and unknown.rejoin_in == 2 * REJOIN_DELAY
    for now in range(2, REJOINS_IN_A_ROW - 1):
        assert fencings.verdict(False, now=float(now)).rejoin_in is not None
    # Fenced again and again: two processes with the same ids would fence each other for ever; stop.
    last = fencings.verdict(False, now=float(REJOINS_IN_A_ROW))
    assert last.rejoin_in is None and f"{REJOINS_IN_A_ROW} times in a row" in last.reason
    # A quiet spell starts the count again.
    assert Fencings("x", in_a_row=REJOINS_IN_A_ROW, last=0.0).verdict(False, now=FENCING_QUIET).rejoin_in == REJOIN_DELAY


def test_the_derived_instance_id_names_host_host_id_and_index() -> None:
    value = derived_instance_id(3, machine_id="0123456789abcdef")
    assert value.startswith("logferry-") and value.endswith("-01234567-3")
    assert derived_instance_id(3, machine_id="0123456789abcdef") == value  # stable across restarts
    assert derived_instance_id(4, machine_id="0123456789abcdef") != value


def test_worker_indexes_are_the_lowest_free_and_come_back_when_released(tmp_path: Path) -> None:
    first = take_slot(tmp_path, "g")
    second = take_slot(tmp_path, "g")
    assert (first.index, second.index) == (0, 1)
    first.release()
    again = take_slot(tmp_path, "g")
    assert again.index == 0
    assert take_slot(tmp_path, "other").index == 0
    for slot in (second, again):
        slot.release()


def test_a_slot_held_by_another_process_is_not_taken(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; sys.path.insert(0, sys.argv[1]); from consumer.membership import take_slot; "
         "from pathlib import Path; s = take_slot(Path(sys.argv[2]), 'g'); print(s.index, flush=True); time.sleep(60)",
         str(Path(__file__).resolve().parents[2]), str(tmp_path)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"0"
        mine = take_slot(tmp_path, "g")
        assert mine.index == 1
        mine.release()
        holder.kill()  # kill -9: the OS drops the lock
        holder.wait()
        assert take_slot(tmp_path, "g").index == 0
    finally:
        kill(holder)


def test_membership_static_for_long_running_dynamic_for_once_and_overridable(tmp_path: Path) -> None:
    base = {"kafka": {"group_id": "g"}, "sink": {"type": "sqlite", "path": str(tmp_path / "logs.db")}}
    long_running = membership_for(parse_config(base), once=False)
    try:
        assert long_running.instance_id is not None and long_running.instance_id.endswith("-0")
        assert long_running.settings()["group.instance.id"] == long_running.instance_id
    finally:
        long_running.release()
    assert membership_for(parse_config(base), once=True).instance_id is None
    fixed = parse_config({**base, "kafka": {"group_id": "g", "group_instance_id": "indexer-7"}})
    assert membership_for(fixed, once=True).instance_id == "indexer-7"
    indexed = parse_config({**base, "consumer": {"worker_index": 5}})
    fifth = membership_for(indexed, once=False)
    try:
        assert str(fifth.instance_id).endswith("-5")
        holder = subprocess.run(
            [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path; "
             "from consumer.membership import take_slot; take_slot(Path(sys.argv[2]), 'g', 5)",
             str(Path(__file__).resolve().parents[2]), str(tmp_path)], capture_output=True, text=True, timeout=60)
        assert holder.returncode == 1
        assert "consumer.worker_index 5 is held by another running worker of group 'g' on this host" in holder.stderr
    finally:
        fifth.release()
    dynamic = parse_config({**base, "kafka": {"group_id": "g", "static_membership": False}})
    assert membership_for(dynamic, once=False).instance_id is None
    process = client_process(long_running.client_id)
    assert process is not None and process.pid == os.getpid() and process.running() is True


@pytest.mark.parametrize(("table", "line"), [
    ({"consumer": {"worker_index": -2}}, "consumer.worker_index: must be -1 (automatic) or a number from 0"),
    ({"kafka": {"group_instance_id": "a b"}}, "kafka.group_instance_id: must be 1 to 249 letters, digits, '.', '_' or '-'"),
    ({"kafka": {"group_instance_id": "a", "static_membership": False}},
     "kafka.group_instance_id: is set while static_membership is false"),
])
def test_bad_membership_settings_name_the_key(table: dict[str, Any], line: str) -> None:
    from logferry.errors import ConfigError

    with pytest.raises(ConfigError) as error:
        parse_config(table)
    assert str(error.value) == line


def test_catch_up_counts_only_what_the_index_holds_and_gives_up_naming_the_lag(
    kafka_bootstrap: str, kafka_topic: str, tmp_path: Path
) -> None:
    """Against the real broker and a real (empty) index: nothing stored means behind; no progress for max_wait means
    giving up with the lag of each partition."""
    produce(kafka_bootstrap, kafka_topic, spread_events(300, files=6))
    db = tmp_path / "index" / "logs.db"
    config = parse_config({"kafka": {"bootstrap_servers": kafka_bootstrap, "topics": [kafka_topic], "group_id": "g"},
                           "sink": {"type": "sqlite", "path": str(db)}})
    from consumer.sinks.sqlite import open_sink

    sink = open_sink(config, lambda letters: None)
    sink.setup()
    sink.close()
    catchup = CatchUp(config, idle_timeout=0.5, max_wait=2.0)
    try:
        assert catchup.start(lambda: False)
        assert sum(catchup.targets.values()) == 300
        now = time.monotonic()
        assert catchup.verdict(now + 1.0, 0, True).state is CatchUpState.BEHIND
        # Records keep coming (newer ones, or from partitions already done) while the index does not move: no progress.
        verdict = catchup.verdict(now + 3.0, 500, False)
        assert verdict.state is CatchUpState.GAVE_UP
        assert "\n" not in verdict.message and "300 records in all" in verdict.message
        for (topic, partition), end in catchup.targets.items():
            if end:
                assert f"{topic}[{partition}] lag {end}" in verdict.message
    finally:
        catchup.close()


def test_catch_up_without_stored_offsets_reads_the_groups_committed_offsets(
    kafka_bootstrap: str, kafka_topic: str
) -> None:
    """A sink that keeps no offsets (OpenSearch): what the group committed says what the index holds. The offsets are
    committed by a real member of the group; no OpenSearch node is needed, the reader never asks it anything."""
    from confluent_kafka import Consumer, TopicPartition

    produce(kafka_bootstrap, kafka_topic, spread_events(300, files=6))
    group = f"committed-{uuid.uuid4().hex[:8]}"
    config = parse_config({"kafka": {"bootstrap_servers": kafka_bootstrap, "topics": [kafka_topic], "group_id": group},
                           "sink": {"type": "opensearch", "url": "http://127.0.0.1:9"}})
    catchup = CatchUp(config, idle_timeout=0.5, max_wait=60.0)
    member = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        assert catchup.start(lambda: False)
        assert sum(catchup.targets.values()) == 300
        now = time.monotonic()
        assert catchup.verdict(now + 1.0, 0, True).state is CatchUpState.BEHIND
        member.commit(offsets=[TopicPartition(t, p, end) for (t, p), end in catchup.targets.items()], asynchronous=False)
        deadline = time.monotonic() + 30
        verdict = catchup.verdict(time.monotonic() + 1.0, 0, True)
        while verdict.state is CatchUpState.BEHIND and time.monotonic() < deadline:
            time.sleep(0.2)
            verdict = catchup.verdict(time.monotonic() + 1.0, 0, True)
        assert verdict.state is CatchUpState.CAUGHT_UP
    finally:
        member.close()
        catchup.close()


# --- the scenarios ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_once_right_after_kill_9_of_the_only_worker_indexes_every_event_exactly_once(
    kafka_bootstrap: str, kafka_topic: str, tmp_path: Path
) -> None:
    """The killed worker keeps its partitions until its session (45 s, the default) expires: `--once` waits for that,
    then drains to the end offsets it recorded, instead of declaring itself done after 8 idle seconds."""
    events = spread_events(KILL_TEST_EVENTS, files=6)
    produce(kafka_bootstrap, kafka_topic, events)
    db = tmp_path / "index" / "logs.db"
    config = lifecycle_config(db, kafka_bootstrap, kafka_topic, f"kill9-{kafka_topic}", session_ms=45_000,
                              extra="batch_max_events = 2000")
    worker = start_consumer("run", "--config", str(config), log=tmp_path / "worker.log")
    try:
        wait_for(lambda: count(db) >= 10_000, 90, "10,000 events indexed")
    finally:
        kill(worker)
    assert count(db) < len(events), "the kill came too late to interrupt the run"
    result = run_consumer("run", "--config", str(config), "--once", "--idle-timeout", "8", timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    assert_exactly(db, events)
    assert any("the index holds everything up to the end offsets recorded at start" in line
               for line in result.stderr.splitlines())
    stopped = next(orjson.loads(line) for line in result.stderr.splitlines() if '"Stopped."' in line)
    print(f"--once after the kill: {stopped['indexed']} indexed, {stopped['duplicates_skipped']} duplicates skipped")


@pytest.fixture
def paused_broker(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Path]]:
    """A broker of this test's own (it gets paused with SIGSTOP); always continued and removed afterwards."""
    run_dir = tmp_path / "kafka-run"
    env = {"LOGFERRY_KAFKA_RUN_DIR": str(run_dir)}
    line = local_kafka("start", env=env)
    try:
        yield line.split("=", 1)[1], env, run_dir
    finally:
        pid_file = run_dir / "broker.pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text().strip()), signal.SIGCONT)
            except (ProcessLookupError, ValueError):
                pass
        local_kafka("reset", env=env)


@pytest.mark.slow
def test_once_with_the_broker_paused_exits_1_naming_the_lag_left(
    paused_broker: tuple[str, dict[str, str], Path], tmp_path: Path
) -> None:
    bootstrap, _env, run_dir = paused_broker
    topic = new_topic(bootstrap)
    events = spread_events(60_000, files=6)
    produce(bootstrap, topic, events)
    db = tmp_path / "index" / "logs.db"
    # Small batches: the worker is paused mid-stream, with partitions assigned and part of them indexed.
    config = lifecycle_config(db, bootstrap, topic, f"paused-{topic}", session_ms=6000, extra="batch_max_events = 500")
    log = tmp_path / "once.log"
    once = start_consumer("run", "--config", str(config), "--once", "--idle-timeout", "2", "--max-wait", "10", log=log)
    broker_pid = int((run_dir / "broker.pid").read_text().strip())
    try:
        wait_for(lambda: count(db) >= 1000, 60, "the first events indexed", interval=0.02)
        os.kill(broker_pid, signal.SIGSTOP)
        paused = time.monotonic()
        code = once.wait(150)
        print(f"--once gave up {time.monotonic() - paused:.1f} s after the broker was paused")
    finally:
        os.kill(broker_pid, signal.SIGCONT)
        kill(once)
    assert code == 1, log.read_text()[-3000:]
    failed = [line for line in log.read_text().splitlines() if line.startswith("run failed:")]
    assert len(failed) == 1, log.read_text()[-3000:]
    assert "not caught up" in failed[0] and "behind the end offsets recorded at start" in failed[0]
    indexed = count(db)
    assert 1000 <= indexed < len(events)
    # The lag named is what the index lacks: the end offsets at start minus the offsets stored with the rows.
    assert f"({len(events) - indexed} records in all)" in failed[0]
    ends = {key: end for key, end in stored_offsets(db).items()}
    for (name, partition), stored in ends.items():
        assert name == topic
        if f"{topic}[{partition}] lag " in failed[0]:
            assert stored < len(events)
    assert f"{topic}[" in failed[0] and "] lag " in failed[0]


def test_once_stopped_before_catching_up_exits_1_naming_the_lag(
    kafka_bootstrap: str, kafka_topic: str, tmp_path: Path
) -> None:
    events = spread_events(60_000, files=6)
    produce(kafka_bootstrap, kafka_topic, events)
    db = tmp_path / "index" / "logs.db"
    config = lifecycle_config(db, kafka_bootstrap, kafka_topic, f"stopped-{kafka_topic}", session_ms=6000,
                              extra="batch_max_events = 500")
    log = tmp_path / "once.log"
    once = start_consumer("run", "--config", str(config), "--once", "--idle-timeout", "2", log=log)
    try:
        wait_for(lambda: count(db) >= 1000, 60, "the first events indexed", interval=0.02)
        once.send_signal(signal.SIGTERM)
        code = once.wait(60)
    finally:
        kill(once)
    indexed = count(db)
    assert code == 1, log.read_text()[-3000:]
    failed = [line for line in log.read_text().splitlines() if line.startswith("run failed:")]
    assert failed and failed[0].startswith("run failed: stopped before catching up: ")
    assert f"({len(events) - indexed} records in all)" in failed[0]


@pytest.mark.slow
def test_static_member_killed_and_restarted_takes_its_partitions_back_without_a_rebalance(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    topic = new_topic(kafka_bootstrap, partitions=4)
    db = tmp_path / "index" / "logs.db"
    group = f"static-{topic}"
    # One config for both workers: each takes its own worker index. The session (45 s) is far longer than the restart.
    config = lifecycle_config(db, kafka_bootstrap, topic, group, session_ms=45_000)
    logs = {name: tmp_path / f"{name}.log" for name in ("w0", "w1", "w1-restarted")}
    produced: list[dict[str, Any]] = []
    w0 = start_consumer("run", "--config", str(config), log=logs["w0"])
    w1: subprocess.Popen[bytes] | None = None
    restarted: subprocess.Popen[bytes] | None = None
    try:
        wait_for(lambda: bool(lines_with(logs["w0"], "Partitions assigned.")), 60, "the first worker assigned")
        w1 = start_consumer("run", "--config", str(config), log=logs["w1"])
        wait_for(lambda: bool(lines_with(logs["w1"], "Partitions assigned.")), 60, "the second worker assigned")
        first = spread_events(6_000, files=12)
        produce(kafka_bootstrap, topic, first)
        produced += first
        wait_for(lambda: count(db) == len(produced), 90, "the first events indexed")
        time.sleep(2)  # any rebalance of the start settles
        w1_partitions = {p for line in lines_with(logs["w1"], "Partitions assigned.") for p in line["partitions"]}
        w0_before = [line["msg"] for line in log_lines(logs["w0"]) if line["msg"].startswith("Partitions ")]
        assert w1_partitions and len(w1_partitions) < 4

        kill(w1)
        second = spread_events(6_000, files=12, start=10_000)
        produce(kafka_bootstrap, topic, second)
        produced += second
        time.sleep(1)
        behind = stored_offsets(db)
        restarted = start_consumer("run", "--config", str(config), log=logs["w1-restarted"])
        wait_for(lambda: bool(lines_with(logs["w1-restarted"], "Consuming.")), 60, "the restarted worker to start")
        started_at = log_time(lines_with(logs["w1-restarted"], "Consuming.")[0])

        def resumed() -> bool:
            now = stored_offsets(db)
            return any(now.get((t, int(p)), 0) > behind.get((t, int(p)), 0)
                       for t, p in (name[:-1].split("[") for name in w1_partitions))

        wait_for(resumed, 60, "the restarted worker's partitions to move", interval=0.05)
        resumed_after = time.time() - started_at
        wait_for(lambda: count(db) == len(produced), 90, "every event indexed")
        w0_after = [line["msg"] for line in log_lines(logs["w0"]) if line["msg"].startswith("Partitions ")]
        again = {p for line in lines_with(logs["w1-restarted"], "Partitions assigned.") for p in line["partitions"]}
        instance = {line["group_instance_id"] for name in ("w1", "w1-restarted")
                    for line in lines_with(logs[name], "Consuming.")}
    finally:
        codes = [stop(w0)] + [stop(p) for p in (w1, restarted) if p is not None and p.poll() is None]
    print(f"indexing resumed {resumed_after:.2f} s after the restarted worker started")
    assert resumed_after <= 5.0
    assert w0_after == w0_before, "the other worker's partitions were rebalanced"
    assert again == w1_partitions
    assert len(instance) == 1 and None not in instance
    assert codes == [0] * len(codes)
    assert_exactly(db, produced)


@pytest.mark.slow
def test_a_stopping_static_member_leaves_the_group_at_once(kafka_bootstrap: str, tmp_path: Path) -> None:
    topic = new_topic(kafka_bootstrap, partitions=2)
    db = tmp_path / "index" / "logs.db"
    group = f"leave-{topic}"
    config = lifecycle_config(db, kafka_bootstrap, topic, group, session_ms=45_000)
    w0 = start_consumer("run", "--config", str(config), log=tmp_path / "w0.log")
    w1 = start_consumer("run", "--config", str(config), log=tmp_path / "w1.log")
    try:
        wait_for(lambda: len(group_members(kafka_bootstrap, group)) == 2
                 and bool(lines_with(tmp_path / "w1.log", "Partitions assigned."))
                 and bool(lines_with(tmp_path / "w0.log", "Partitions assigned.")), 60, "both workers in the group")
        assert stop(w1) == 0
        stopped = time.monotonic()
        # Far less than the 45 s session: the coordinator heard it leave.
        wait_for(lambda: len(group_members(kafka_bootstrap, group)) == 1, 15, "the stopped worker gone from the group")
        wait_for(lambda: {p for line in lines_with(tmp_path / "w0.log", "Partitions assigned.")
                          for p in line["partitions"]} == {f"{topic}[0]", f"{topic}[1]"}, 20, "its partitions moved over")
        assert time.monotonic() - stopped < 30
        assert lines_with(tmp_path / "w1.log", "Left the group.")
    finally:
        codes = [stop(w0), stop(w1)]
    assert codes == [0, 0]


@pytest.mark.slow
def test_replay_names_the_stale_member_and_force_after_expiry_waits_for_it(
    kafka_bootstrap: str, kafka_topic: str, tmp_path: Path
) -> None:
    produce(kafka_bootstrap, kafka_topic, spread_events(300, files=3))
    db = tmp_path / "index" / "logs.db"
    group = f"stale-{kafka_topic}"
    config = lifecycle_config(db, kafka_bootstrap, kafka_topic, group, session_ms=8000)
    worker = start_consumer("run", "--config", str(config), log=tmp_path / "w.log")
    try:
        wait_for(lambda: count(db) == 300, 60, "the events indexed")
    finally:
        kill(worker)
    killed_at = time.time()
    refused = run_consumer("replay", "--config", str(config), "--to-earliest", "--yes")
    assert refused.returncode == 1
    assert refused.stdout == "", "a refused replay prints no plan"
    line = refused.stderr.strip().splitlines()[-1]
    assert "logferry-consumer-" in line and f"-{worker.pid} " in line  # which member
    assert f"its process {worker.pid} on this host has exited" in line
    assert "last alive at " in line and "its session expires at " in line
    assert "--force-after-expiry" in line
    print(f"replay refused: {line}")
    last_alive = datetime.fromisoformat(line.split("last alive at ")[1][:20].replace("Z", "+00:00")).timestamp()
    assert killed_at - 3 <= last_alive <= killed_at + 1
    forced = run_consumer("replay", "--config", str(config), "--to-earliest", "--force-after-expiry", "--yes", timeout=120)
    assert forced.returncode == 0, forced.stderr
    assert "300 records will be read again" in forced.stdout
    assert group_members(kafka_bootstrap, group) == []


def test_replay_force_after_expiry_refuses_at_once_while_a_worker_runs(
    kafka_bootstrap: str, kafka_topic: str, tmp_path: Path
) -> None:
    db = tmp_path / "index" / "logs.db"
    config = lifecycle_config(db, kafka_bootstrap, kafka_topic, f"live-{uuid.uuid4().hex[:8]}", session_ms=45_000)
    worker = start_consumer("run", "--config", str(config), log=tmp_path / "w.log")
    try:
        wait_for(lambda: bool(lines_with(tmp_path / "w.log", "Partitions assigned.")), 60, "the worker to join")
        started = time.monotonic()
        refused = run_consumer("replay", "--config", str(config), "--to-earliest", "--force-after-expiry", "--yes")
        assert time.monotonic() - started < 30
        assert refused.returncode == 1
        assert f"its process {worker.pid} runs on this host" in refused.stderr
    finally:
        assert stop(worker) == 0


def test_a_worker_fenced_by_another_with_its_instance_id_stops_with_exit_1_saying_so(
    kafka_bootstrap: str, kafka_topic: str, tmp_path: Path
) -> None:
    db = tmp_path / "index" / "logs.db"
    config = lifecycle_config(db, kafka_bootstrap, kafka_topic, f"fence-{uuid.uuid4().hex[:8]}", session_ms=6000)
    config.write_text(config.read_text().replace("[sink]", 'group_instance_id = "indexer-1"\n[sink]'))
    first = start_consumer("run", "--config", str(config), log=tmp_path / "first.log")
    second: subprocess.Popen[bytes] | None = None
    try:
        wait_for(lambda: bool(lines_with(tmp_path / "first.log", "Partitions assigned.")), 60, "the first worker to join")
        second = start_consumer("run", "--config", str(config), log=tmp_path / "second.log")
        assert first.wait(60) == 1
    finally:
        kill(first)
        codes = [stop(second)] if second is not None else []
    assert codes == [0]
    failed = [line for line in (tmp_path / "first.log").read_text().splitlines() if line.startswith("run failed:")]
    assert failed == ["run failed: Kafka fenced this worker: another worker joined the group with the same "
                      "group.instance.id 'indexer-1'; give each worker its own [consumer] worker_index or [kafka] "
                      "group_instance_id"]
    assert not lines_with(tmp_path / "first.log", "Kafka fenced this worker with its own group membership; it rejoins.")


def _join_as(bootstrap: str, group: str, topic: str, instance_id: str, client: str) -> None:
    """Join `group` with `instance_id` and client id `client` and close without leaving (a static member's close sends
    no LeaveGroup): the coordinator keeps that member, as it keeps one whose join its sender abandoned."""
    from confluent_kafka import Consumer

    ghost = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "group.instance.id": instance_id,
                      "client.id": client, "session.timeout.ms": 6000, "enable.auto.commit": False,
                      "partition.assignment.strategy": "cooperative-sticky"})
    try:
        ghost.subscribe([topic])
        deadline = time.monotonic() + 60
        while not ghost.assignment() and time.monotonic() < deadline:
            ghost.poll(0.2)
        assert ghost.assignment(), "the stand-in for the abandoned join never joined"
    finally:
        ghost.close()


def test_a_worker_fenced_by_a_join_carrying_its_own_client_id_rejoins_and_resumes(
    kafka_bootstrap: str, kafka_topic: str, tmp_path: Path
) -> None:
    # A join this worker sent, abandoned and the coordinator processed later fences the worker itself (the member that
    # holds its group.instance.id then carries its own client id). Such a member is stood in for by a client that joins
    # with the worker's client id and instance id: the worker must rejoin, not stop.
    db = tmp_path / "index" / "logs.db"
    group = f"selffence-{uuid.uuid4().hex[:8]}"
    config = lifecycle_config(db, kafka_bootstrap, kafka_topic, group, session_ms=6000)
    log = tmp_path / "worker.log"
    first, second = make_events(50), make_events(50, start=50)
    produce(kafka_bootstrap, kafka_topic, first)
    worker = start_consumer("run", "--config", str(config), log=log)
    try:
        wait_for(lambda: count(db) == 50, 60, "the first events indexed")
        [consuming] = lines_with(log, "Consuming.")
        _join_as(kafka_bootstrap, group, kafka_topic, consuming["group_instance_id"], consuming["client_id"])
        wait_for(lambda: bool(lines_with(log, "Kafka fenced this worker with its own group membership; it rejoins.")),
                 60, "the worker to notice the fencing")
        produce(kafka_bootstrap, kafka_topic, second)
        wait_for(lambda: count(db) == 100, 90, "the events after the fencing indexed")
        assert worker.poll() is None, "the fenced worker stopped"
    except AssertionError:
        print("worker log, last 60 lines:\n" + "\n".join(log.read_text().splitlines()[-60:]))
        raise
    finally:
        code = stop(worker)
    assert code == 0
    assert_exactly(db, first + second)
    [warning] = lines_with(log, "Kafka fenced this worker with its own group membership; it rejoins.")
    assert warning["level"] == "warning" and warning["rejoin_in_s"] > 0
