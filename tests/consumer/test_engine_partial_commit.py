"""Per-partition commit below the first failure, on a real OpenSearch and Elasticsearch node: one daily index of the
batch refuses writes for now (the `read_only_allow_delete` block a node sets at its flood-stage disk watermark, which
both engines answer item by item with 429), the other takes its events. The flush fails as retriable and reports as
durable, per partition, exactly the offset of the first event not written; once the block is lifted, the next flush
writes the rest and every event is in the index once."""

import uuid

import pytest

from consumer.records import Batch, DeadLetter
from consumer.sinks.base import SinkError
from consumer.sinks.elasticsearch_client import ElasticsearchClient
from consumer.sinks.elasticsearch_settings import ElasticsearchSettings
from consumer.sinks.engine import EngineSink
from consumer.sinks.engine_client import EngineClient
from consumer.sinks.engine_schema import events_index
from consumer.sinks.engine_settings import EngineSettings
from consumer.sinks.opensearch_client import OpenSearchClient
from consumer.sinks.opensearch_settings import OpenSearchSettings
from schemas import serialize
from tests.consumer.helpers import make_events
from tests.support.engines import EngineNode

DAY_NS = 86_400 * 1_000_000_000


def no_dead_letters(letters: list[DeadLetter]) -> None:
    raise AssertionError(f"no dead letter expected, got {letters}")


def open_sink(engine: EngineNode, prefix: str) -> EngineSink:
    settings: EngineSettings
    client: EngineClient
    if engine.kind == "opensearch":
        settings = OpenSearchSettings(type="opensearch", url=engine.url, index_prefix=prefix, retry_attempts=1)
        client = OpenSearchClient(settings)
    else:
        settings = ElasticsearchSettings(type="elasticsearch", url=engine.url, index_prefix=prefix, retry_attempts=1)
        client = ElasticsearchClient(settings)
    return EngineSink(settings, client, no_dead_letters)


def test_a_refused_index_holds_each_partition_at_its_first_unwritten_offset(engine: EngineNode) -> None:
    prefix = f"p{uuid.uuid4().hex[:10]}"
    day1, day2 = make_events(20), make_events(20, start=86_400_000)  # 1 ms apart: `start` one day later
    events = [event for pair in zip(day1, day2, strict=True) for event in pair]
    blocked = events_index(prefix, day2[0]["timestamp"])
    assert blocked != events_index(prefix, day1[0]["timestamp"])
    sink = open_sink(engine, prefix)
    try:
        sink.setup()
        engine.request("PUT", f"/{blocked}", {})  # made by the sink's template, then blocked
        engine.request("PUT", f"/{blocked}/_settings", {"index.blocks.read_only_allow_delete": True})
        # Two partitions, each with events of both days in turn (d1 d2 d1 d2 ...), offsets from 100 and from 7.
        batch = Batch()
        starts = {0: 100, 1: 7}
        for n, event in enumerate(events):
            partition = (n // 2) % 2
            offset = starts[partition] + (n // 4) * 2 + n % 2
            batch.items.append(sink.prepare(event, serialize(event)))
            batch.sources.append(("logs", partition, offset))
            batch.next_offsets[("logs", partition)] = offset + 1
        first_blocked = {p: min(o for (_t, q, o), e in zip(batch.sources, events, strict=True)
                                if q == p and events_index(prefix, e["timestamp"]) == blocked) for p in (0, 1)}
        assert first_blocked == {0: 101, 1: 8}
        sink.add(batch)

        with pytest.raises(SinkError) as failed:
            sink.flush()
        assert failed.value.retriable
        assert failed.value.durable == {("logs", 0): first_blocked[0], ("logs", 1): first_blocked[1]}
        written = engine.indexed_ids(prefix)
        assert written and len(written) < len(events)  # the open day's events were written, the blocked ones not

        engine.request("PUT", f"/{blocked}/_settings", {"index.blocks.read_only_allow_delete": None})
        result = sink.flush()
        assert result.durable == {("logs", 0): starts[0] + 20, ("logs", 1): starts[1] + 20}
        assert result.indexed == len(events)  # the first flush's writes are reported by the one that succeeds
        ids = engine.indexed_ids(prefix)
        assert sorted(ids) == sorted(str(e["event_id"]) for e in events)
    finally:
        sink.close()
        for row in engine.request("GET", f"/_cat/indices/{prefix}-*?format=json&h=index"):
            engine.request("DELETE", f"/{row['index']}")
