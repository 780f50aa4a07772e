"""Exactly once into a real OpenSearch node: re-deliveries, kill -9, replay, poison and mapping errors, and the
node stopped then started mid-stream."""

import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.consumer.helpers import make_events, opensearch_config, produce, run_consumer, start_consumer, wait_for
from tests.support.opensearch import indexed_ids, local_opensearch, search_hits, start_node

pytestmark = [pytest.mark.kafka, pytest.mark.opensearch]


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def config(tmp_path: Path, opensearch_url: str, kafka_bootstrap: str, kafka_topic: str, prefix: str) -> Path:
    return opensearch_config(tmp_path, opensearch_url, kafka_bootstrap, kafka_topic, group=f"os-{prefix}", prefix=prefix)


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
    kafka_bootstrap: str, kafka_topic: str, config: Path, opensearch_url: str, prefix: str
) -> None:
    events = files_of_events(300)
    produce(kafka_bootstrap, kafka_topic, events)
    produce(kafka_bootstrap, kafka_topic, events[50:350])
    result = run_consumer("run", "--config", str(config), "--once", "--idle-timeout", "2")
    assert result.returncode == 0, result.stderr
    ids = indexed_ids(opensearch_url, prefix)
    assert sorted(ids) == sorted(str(e["event_id"]) for e in events)
    stopped = next(orjson.loads(line) for line in result.stderr.splitlines() if '"Stopped."' in line)
    assert (stopped["indexed"], stopped["duplicates_skipped"]) == (900, 300)

    replay = run_consumer("replay", "--config", str(config), "--to-earliest")
    assert replay.returncode == 0, replay.stderr
    assert "1200 records will be read again" in replay.stdout
    again = run_consumer("run", "--config", str(config), "--once", "--idle-timeout", "2")
    assert again.returncode == 0, again.stderr
    assert sorted(indexed_ids(opensearch_url, prefix)) == sorted(str(e["event_id"]) for e in events)
    after = status(config)
    assert (after["indexed_events"], after["total_lag"], after["dead_letters"]) == (900, 0, 0)


def test_poison_and_mapping_errors_are_dead_lettered_and_the_rest_indexed(
    kafka_bootstrap: str, kafka_topic: str, config: Path, opensearch_url: str, prefix: str
) -> None:
    events = make_events(30)
    mapped_wrong = make_events(1, start=30)[0]
    mapped_wrong["attributes"] = {"log.file.record_offset": "not a number"}  # the template says long
    key = str(events[0]["event_id"])[:16].encode()
    produce(kafka_bootstrap, kafka_topic, events[:10], raw=[(key, b"\x00garbage")])
    produce(kafka_bootstrap, kafka_topic, [mapped_wrong, *events[10:]])
    result = run_consumer("run", "--config", str(config), "--once", "--idle-timeout", "2")
    assert result.returncode == 0, result.stderr
    assert sorted(indexed_ids(opensearch_url, prefix)) == sorted(str(e["event_id"]) for e in events)
    letters = search_hits(opensearch_url, f"{prefix}-deadletters", {"sort": [{"offset": "asc"}]})
    assert [(h["_source"]["offset"], h["_source"]["error"].split(":")[0]) for h in letters] == [
        (10, "the record is not valid JSON"),
        (11, "OpenSearch refused the event (400 mapper_parsing_exception)"),
    ]
    assert status(config)["dead_letters"] == 2


@pytest.mark.slow
def test_worker_killed_mid_stream_then_restarted_leaves_exactly_the_events(
    kafka_bootstrap: str, kafka_topic: str, tmp_path: Path, opensearch_url: str, prefix: str
) -> None:
    config = opensearch_config(tmp_path, opensearch_url, kafka_bootstrap, kafka_topic, group=f"os-{prefix}", prefix=prefix,
                               extra="batch_max_events = 300")
    events = files_of_events(2_000)
    produce(kafka_bootstrap, kafka_topic, events)
    worker = start_consumer("run", "--config", str(config), log=tmp_path / "worker.log")
    try:
        wait_for(lambda: len(indexed_ids(opensearch_url, prefix)) >= 1_000, 60, "some events indexed")
    finally:
        os.kill(worker.pid, signal.SIGKILL)  # also when the wait failed: no worker outlives its test
        worker.wait()
    assert len(indexed_ids(opensearch_url, prefix)) < len(events)
    result = run_consumer("run", "--config", str(config), "--once", "--idle-timeout", "3")
    assert result.returncode == 0, result.stderr
    assert sorted(indexed_ids(opensearch_url, prefix)) == sorted(str(e["event_id"]) for e in events)


@pytest.fixture
def own_node(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A dedicated node this test may stop and start; removed at the end."""
    env = {"LOGFERRY_OPENSEARCH_RUN_DIR": str(tmp_path / "opensearch-run")}
    try:
        url = start_node(env)  # inside: a start that gives up may still leave a node running, which reset stops
        yield url, env
    finally:
        local_opensearch("reset", env=env)


@pytest.mark.slow
def test_opensearch_stopped_then_started_mid_stream_loses_nothing(
    kafka_bootstrap: str, kafka_topic: str, tmp_path: Path, own_node: tuple[str, dict[str, str]], prefix: str
) -> None:
    url, env = own_node
    config = opensearch_config(tmp_path, url, kafka_bootstrap, kafka_topic, group=f"os-{prefix}", prefix=prefix)
    first = files_of_events(200)
    second = [e for n in range(3) for e in make_events(200, file=f"dev:1/ino:{n}", service=f"svc{n}", start=200)]
    produce(kafka_bootstrap, kafka_topic, first)
    worker = start_consumer("run", "--config", str(config), log=tmp_path / "worker.log")
    try:
        wait_for(lambda: len(indexed_ids(url, prefix)) == len(first), 60, "the first events indexed")
        local_opensearch("stop", env=env)
        produce(kafka_bootstrap, kafka_topic, second)
        wait_for(lambda: "Writing a batch failed" in (tmp_path / "worker.log").read_text(), 60, "a failed write")
        assert worker.poll() is None
        assert start_node(env) == url
        wait_for(lambda: len(indexed_ids(url, prefix)) == len(first) + len(second), 90, "every event indexed")
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(60)
    assert code == 0
    assert sorted(indexed_ids(url, prefix)) == sorted(str(e["event_id"]) for e in first + second)
    assert "The sink took the batch again" in (tmp_path / "worker.log").read_text()
