"""Retention in the search engines: whole daily indices older than `retention` are deleted (at the consumer's start
and periodically after), dead letters older than `deadletter_retention` too. Real broker, real OpenSearch and
Elasticsearch nodes."""

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from consumer.config import load_config
from consumer.sinks.engine_client import EngineClient
from consumer.sinks.engine_retention import expired_indices, sweep
from consumer.sinks.engine_settings import EngineSettings
from consumer.sinks.registry import open_reader
from tests.consumer.helpers import make_events, produce, run_consumer
from tests.support.engines import ONCE_IDLE, EngineNode

pytestmark = [pytest.mark.kafka]

DAY = 86_400


def stamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + ".000000000Z"


def client_for(settings: EngineSettings) -> EngineClient:
    if settings.type == "opensearch":
        from consumer.sinks.opensearch_client import OpenSearchClient

        return OpenSearchClient(settings)
    from consumer.sinks.elasticsearch_client import ElasticsearchClient

    return ElasticsearchClient(settings)


def test_an_index_expires_when_its_whole_day_is_older_than_the_retention() -> None:
    names = ["p-events-2026.11.16", "p-events-2026.11.17", "p-events-2026.11.18", "p-deadletters", "p-events-x",
             "other-events-2026.01.01"]
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # 14 days back: 2026-11-17T12:00
    assert expired_indices(names, "p", 14 * DAY, now) == ["p-events-2026.11.16"]
    assert expired_indices(names, "p", 14 * DAY, now + timedelta(hours=12)) == ["p-events-2026.11.16", "p-events-2026.11.17"]


def events_days_ago(days: list[int]) -> list[dict[str, Any]]:
    now = time.time()
    events = []
    for n, ago in enumerate(days):
        for event in make_events(5, start=n * 5):
            event["timestamp"] = event["observed_timestamp"] = stamp(now - ago * DAY)
            events.append(event)
    return events


def test_retention_drops_expired_daily_indices_at_start_and_dead_letters_by_their_age(
    engine: EngineNode, tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    prefix = f"k{uuid.uuid4().hex[:10]}"
    events = events_days_ago([20, 10, 0])
    produce(kafka_bootstrap, kafka_topic, events, raw=[(b"k", b"\x00not json")])
    keep_all = engine.config(tmp_path, kafka_bootstrap, kafka_topic, group=f"ret-{prefix}", prefix=prefix)
    first = run_consumer("run", "--config", str(keep_all), "--once", "--idle-timeout", ONCE_IDLE)
    assert first.returncode == 0, first.stderr[-3000:]
    days = sorted({e["timestamp"][:10].replace("-", ".") for e in events})
    assert len(days) == 3 and all(engine.exists(f"{prefix}-events-{day}") for day in days)

    (tmp_path / "retain").mkdir()
    retain = engine.config(tmp_path / "retain", kafka_bootstrap, kafka_topic, group=f"ret-{prefix}", prefix=prefix,
                           sink_extra='retention = "14d"\ndeadletter_retention = "30d"')
    second = run_consumer("run", "--config", str(retain), "--once", "--idle-timeout", ONCE_IDLE)
    assert second.returncode == 0, second.stderr[-3000:]
    assert '"Expired indices and dead letters were deleted."' in second.stderr
    assert [engine.exists(f"{prefix}-events-{day}") for day in days] == [False, True, True]
    assert sorted(engine.indexed_ids(prefix)) == sorted(e["event_id"] for e in events[5:])
    settings = load_config(retain).sink
    assert isinstance(settings, EngineSettings)
    reader = open_reader(load_config(retain))
    try:
        assert reader.oldest_timestamp() == events[5]["timestamp"]
        assert reader.totals() == (10, 1)  # the dead letter is a few seconds old: kept
    finally:
        reader.close()

    # A sweep as it would run 31 days on: the dead letter is older than 30 days, the 10-day index than 14.
    client = client_for(settings)
    try:
        result = sweep(client, settings, now=datetime.now(UTC) + timedelta(days=31))
    finally:
        client.close()
    assert result.dead_letters == 1
    assert result.indices == [f"{prefix}-events-{days[1]}", f"{prefix}-events-{days[2]}"]
    assert engine.exists(f"{prefix}-deadletters")  # the index stays, emptied
    assert engine.documents(f"{prefix}-deadletters") == []


def test_no_retention_deletes_nothing(engine: EngineNode, tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    prefix = f"n{uuid.uuid4().hex[:10]}"
    produce(kafka_bootstrap, kafka_topic, events_days_ago([400]))
    config = engine.config(tmp_path, kafka_bootstrap, kafka_topic, group=f"ret-{prefix}", prefix=prefix)
    result = run_consumer("run", "--config", str(config), "--once", "--idle-timeout", ONCE_IDLE)
    assert result.returncode == 0, result.stderr[-3000:]
    settings = load_config(config).sink
    assert isinstance(settings, EngineSettings)
    client = client_for(settings)
    try:
        assert sweep(client, settings).indices == []
    finally:
        client.close()
    assert len(engine.indexed_ids(prefix)) == 5
