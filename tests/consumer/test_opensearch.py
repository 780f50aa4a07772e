"""Exactly once into a real search-engine node, OpenSearch and Elasticsearch alike (the `engine` fixture):
re-deliveries, kill -9, replay, poison and schema-type errors, and the node stopped then started mid-stream (with the
node script's stop, status and start)."""

import base64
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.consumer.helpers import make_events, produce, run_consumer, start_consumer, wait_for
from tests.support.engines import KINDS, ONCE_IDLE, EngineNode
from tests.support.node_script import NodeUnavailable

pytestmark = [pytest.mark.kafka]


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def config(tmp_path: Path, engine: EngineNode, kafka_bootstrap: str, kafka_topic: str, prefix: str) -> Path:
    return engine.config(tmp_path, kafka_bootstrap, kafka_topic, group=f"os-{prefix}", prefix=prefix)


def files_of_events(per_file: int, files: int = 3) -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    for number in range(files):
        events += make_events(per_file, file=f"dev:1/ino:{number}", service=f"svc{number}")
    return events


def status(config: Path) -> dict[str, object]:
    result = run_consumer("status", "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    return orjson.loads(result.stdout)  # type: ignore[no-any-return]


def test_events_produced_twice_are_one_document_each_and_replay_changes_no_count(
    kafka_bootstrap: str, kafka_topic: str, config: Path, engine: EngineNode, prefix: str
) -> None:
    events = files_of_events(300)
    produce(kafka_bootstrap, kafka_topic, events)
    produce(kafka_bootstrap, kafka_topic, events[50:350])
    result = run_consumer("run", "--config", str(config), "--once", "--idle-timeout", ONCE_IDLE)
    assert result.returncode == 0, result.stderr
    ids = engine.indexed_ids(prefix)
    assert sorted(ids) == sorted(str(e["event_id"]) for e in events)
    stopped = next(orjson.loads(line) for line in result.stderr.splitlines() if '"Stopped."' in line)
    assert (stopped["indexed"], stopped["duplicates_skipped"]) == (900, 300)

    replay = run_consumer("replay", "--config", str(config), "--to-earliest", "--yes")
    assert replay.returncode == 0, replay.stderr
    assert "1200 records will be read again" in replay.stdout
    again = run_consumer("run", "--config", str(config), "--once", "--idle-timeout", ONCE_IDLE)
    assert again.returncode == 0, again.stderr
    assert sorted(engine.indexed_ids(prefix)) == sorted(str(e["event_id"]) for e in events)
    after = status(config)
    assert (after["indexed_events"], after["total_lag"], after["dead_letters"]) == (900, 0, 0)


def test_poison_and_mapping_errors_are_dead_lettered_and_the_rest_indexed(
    kafka_bootstrap: str, kafka_topic: str, config: Path, engine: EngineNode, prefix: str
) -> None:
    events = make_events(30)
    mapped_wrong = make_events(1, start=30)[0]
    mapped_wrong["attributes"] = {"log.file.record_offset": "not a number"}  # against the schema: the template says long
    key = str(events[0]["event_id"])[:16].encode()
    produce(kafka_bootstrap, kafka_topic, events[:10], raw=[(key, b"\x00garbage")])
    produce(kafka_bootstrap, kafka_topic, [mapped_wrong, *events[10:]])
    result = run_consumer("run", "--config", str(config), "--once", "--idle-timeout", ONCE_IDLE)
    assert result.returncode == 0, result.stderr
    assert sorted(engine.indexed_ids(prefix)) == sorted(str(e["event_id"]) for e in events)
    letters = engine.search_hits(f"{prefix}-deadletters", {"sort": [{"offset": "asc"}]})
    assert [(h["_source"]["offset"], h["_source"]["error"].split(":")[0]) for h in letters] == [
        (10, "the record is not valid JSON"),
        # Elasticsearch 8 names it document_parsing_exception.
        (11, f"{engine.name} refused the event (400 "
             f"{'mapper_parsing_exception' if engine.kind == 'opensearch' else 'document_parsing_exception'})"),
    ]
    # The dead letter holds the event as it came, not the document made of it: redriven, it is an event again.
    assert orjson.loads(base64.b64decode(letters[1]["_source"]["raw_base64"])) == mapped_wrong
    assert status(config)["dead_letters"] == 2


@pytest.mark.slow
def test_worker_killed_mid_stream_then_restarted_leaves_exactly_the_events(
    kafka_bootstrap: str, kafka_topic: str, tmp_path: Path, engine: EngineNode, prefix: str
) -> None:
    config = engine.config(tmp_path, kafka_bootstrap, kafka_topic, group=f"os-{prefix}", prefix=prefix,
                           extra="batch_max_events = 300")
    events = files_of_events(2_000)
    produce(kafka_bootstrap, kafka_topic, events)
    worker = start_consumer("run", "--config", str(config), log=tmp_path / "worker.log")
    try:
        wait_for(lambda: len(engine.indexed_ids(prefix)) >= 1_000, 60, "some events indexed")
    finally:
        os.kill(worker.pid, signal.SIGKILL)  # also when the wait failed: no worker outlives its test
        worker.wait()
    assert len(engine.indexed_ids(prefix)) < len(events)
    result = run_consumer("run", "--config", str(config), "--once", "--idle-timeout", ONCE_IDLE)
    assert result.returncode == 0, result.stderr
    assert sorted(engine.indexed_ids(prefix)) == sorted(str(e["event_id"]) for e in events)


@pytest.fixture
def own_node(tmp_path: Path, engine: EngineNode) -> Iterator[tuple[EngineNode, dict[str, str]]]:
    """A dedicated node of the engine this test may stop and start; removed at the end."""
    kind = KINDS[engine.kind]
    env = {kind.run_dir_env: str(tmp_path / f"{engine.kind}-run")}
    try:
        url = kind.start_node(env)  # inside: a start that gives up may still leave a node running, which reset stops
        yield EngineNode(engine.kind, url), env
    finally:
        kind.script("reset", env=env)


@pytest.mark.slow
def test_engine_stopped_then_started_mid_stream_loses_nothing(
    kafka_bootstrap: str, kafka_topic: str, tmp_path: Path, own_node: tuple[EngineNode, dict[str, str]], prefix: str
) -> None:
    node, env = own_node
    kind = KINDS[node.kind]
    config = node.config(tmp_path, kafka_bootstrap, kafka_topic, group=f"os-{prefix}", prefix=prefix)
    first = files_of_events(200)
    second = [e for n in range(3) for e in make_events(200, file=f"dev:1/ino:{n}", service=f"svc{n}", start=200)]
    produce(kafka_bootstrap, kafka_topic, first)
    worker = start_consumer("run", "--config", str(config), log=tmp_path / "worker.log")
    try:
        wait_for(lambda: len(node.indexed_ids(prefix)) == len(first), 60, "the first events indexed")
        kind.script("stop", env=env)
        with pytest.raises(NodeUnavailable, match="not running"):  # `status` exits 3 and says so
            kind.script("status", env=env)
        produce(kafka_bootstrap, kafka_topic, second)
        wait_for(lambda: "Writing a batch failed" in (tmp_path / "worker.log").read_text(), 60, "a failed write")
        assert worker.poll() is None
        assert kind.start_node(env) == node.url
        assert kind.script("status", env=env) == f"{node.kind.upper()}_URL={node.url}"
        wait_for(lambda: len(node.indexed_ids(prefix)) == len(first) + len(second), 90, "every event indexed")
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(60)
    assert code == 0
    assert sorted(node.indexed_ids(prefix)) == sorted(str(e["event_id"]) for e in first + second)
    assert "The sink took the batch again" in (tmp_path / "worker.log").read_text()
