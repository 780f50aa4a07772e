"""Bulk items a search engine refuses for now (429) are sent again until written: a real OpenSearch or Elasticsearch
node with a one-thread write pool and a one-slot queue rejects shard-level bulk requests (rejected_execution_exception,
es_rejected_execution_exception on Elasticsearch), as a busy cluster does.

No fake anywhere: the rejections are the node's own, counted by the node itself (`_nodes/stats/thread_pool`), and the
test fails when none happened, since then it would prove nothing.
"""

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Consumer, TopicPartition

from tests.consumer.helpers import make_events, produce, run_consumer
from tests.support.engines import KINDS, ONCE_IDLE, EngineNode

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

# One write thread and one queued task: a bulk touching more than two shards at once has the rest of its shard
# requests rejected (status 429 per item), and so do concurrent bulks. Static settings, hence a node of our own.
BUSY_SETTINGS = "thread_pool.write.size: 1\nthread_pool.write.queue_size: 1"
# The item's status and error type, per engine.
REJECTED = {"opensearch": "429 rejected_execution_exception", "elasticsearch": "429 es_rejected_execution_exception"}
DAYS = 8  # the events span 8 daily indices, so each bulk fans out to 8 shards


@pytest.fixture(params=[pytest.param(kind, marks=getattr(pytest.mark, kind)) for kind in KINDS])
def busy_node(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EngineNode]:
    kind = KINDS[request.param]
    env = {kind.run_dir_env: str(tmp_path / f"{kind.kind}-run"), kind.settings_env: BUSY_SETTINGS}
    try:
        url = kind.start_node(env)  # inside: a start that gives up may still leave a node running, which reset stops
        yield EngineNode(kind.kind, url)
    finally:
        kind.script("reset", env=env)


def write_pool(node: EngineNode) -> dict[str, Any]:
    (stats,) = node.request("GET", "/_nodes/stats/thread_pool")["nodes"].values()
    pool: dict[str, Any] = stats["thread_pool"]["write"]
    return pool


def records(stderr: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def end_offsets(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"probe-{uuid.uuid4().hex[:8]}"})
    try:
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions)}
    finally:
        consumer.close()


def test_items_refused_with_429_are_retried_until_each_is_indexed_once(
    kafka_bootstrap: str, kafka_topic: str, tmp_path: Path, busy_node: EngineNode
) -> None:
    assert write_pool(busy_node)["rejected"] == 0
    prefix = f"r{uuid.uuid4().hex[:10]}"
    step_ns = DAYS * 86_400 * 1_000_000_000 // 200
    events = [e for n in range(6) for e in make_events(200, file=f"dev:1/ino:{n}", service=f"svc{n}", step_ns=step_ns)]
    produce(kafka_bootstrap, kafka_topic, events)
    config = busy_node.config(tmp_path, kafka_bootstrap, kafka_topic, group=f"os-{prefix}", prefix=prefix,
                              extra="retry_initial = 0.1")

    result = run_consumer("run", "--config", str(config), "--once", "--idle-timeout", ONCE_IDLE)

    assert result.returncode == 0, result.stderr
    # The node really refused work: its own rejection counter moved.
    assert write_pool(busy_node)["rejected"] > 0, "the node rejected nothing, so this run proves nothing about retries"
    logs = records(result.stderr)
    refusals: dict[str, int] = {}
    for record in logs:
        if record["msg"] == "The search engine refused bulk items for now; they are sent again.":
            assert record["engine"] == busy_node.name
            for kind, count in record["refusals"].items():
                refusals[kind] = refusals.get(kind, 0) + count
    assert refusals.get(REJECTED[busy_node.kind], 0) > 0, refusals
    stopped = next(r for r in logs if r["msg"] == "Stopped.")
    assert stopped["retried_items"] == sum(refusals.values()) > 0
    # Every event once, whatever was refused and sent again; nothing retriable went to the dead letters.
    ids = busy_node.indexed_ids(prefix)
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(str(e["event_id"]) for e in events)
    assert (stopped["indexed"], stopped["duplicates_skipped"], stopped["dead_letters"]) == (len(events), 0, 0)
    assert not busy_node.exists(f"{prefix}-deadletters")
    assert end_offsets(kafka_bootstrap, f"{kafka_topic}.deadletter", 1) == {0: 0}
    # Offsets: every partition committed to its end, so a second run reads nothing again.
    status = orjson.loads(run_consumer("status", "--config", str(config), "--json").stdout)
    ends = end_offsets(kafka_bootstrap, kafka_topic, len(status["partitions"]))
    committed = {p["partition"]: p["committed_offset"] for p in status["partitions"] if p["committed_offset"] is not None}
    assert committed == {partition: end for partition, end in ends.items() if end > 0}
    assert sum(ends.values()) == len(events)
    assert (status["total_lag"], status["indexed_events"], status["dead_letters"]) == (0, len(events), 0)
    again = run_consumer("run", "--config", str(config), "--once", "--idle-timeout", ONCE_IDLE)
    assert again.returncode == 0, again.stderr
    stopped_again = next(r for r in records(again.stderr) if r["msg"] == "Stopped.")
    assert (stopped_again["indexed"], stopped_again["duplicates_skipped"]) == (0, 0)
