"""Conflicts with the search-engine sinks: the first version stays the document, `<prefix>-conflicts` holds both
versions, and a legitimate re-send is a duplicate. Real broker, real OpenSearch and Elasticsearch nodes."""

import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from consumer.content import content_hash
from consumer.sinks.engine_schema import from_document
from tests.consumer.helpers import make_events, produce, run_consumer
from tests.consumer.test_conflicts import forged, resent
from tests.support.engines import ONCE_IDLE, EngineNode

pytestmark = [pytest.mark.kafka]


def stopped(result: Any) -> dict[str, Any]:
    line = next(line for line in result.stderr.splitlines() if '"Stopped."' in line)
    value: dict[str, Any] = orjson.loads(line)
    return value


def test_a_forged_event_id_is_recorded_in_the_conflicts_index_and_the_first_version_stays(
    tmp_path: Path, engine: EngineNode, kafka_bootstrap: str, kafka_topic: str
) -> None:
    prefix = f"c{uuid.uuid4().hex[:10]}"
    config = engine.config(tmp_path, kafka_bootstrap, kafka_topic, group=f"os-{prefix}", prefix=prefix)
    real, other = make_events(2)
    fake = forged(real)
    produce(kafka_bootstrap, kafka_topic, [real, other, resent(real), fake])
    result = run_consumer("run", "--config", str(config), "--once", "--idle-timeout", ONCE_IDLE)
    assert result.returncode == 0, result.stderr[-3000:]
    counts = stopped(result)
    assert (counts["indexed"], counts["duplicates_skipped"], counts["dead_letters"]) == (2, 1, 0)

    events = {d["event_id"]: d for d in engine.documents(f"{prefix}-events-*")}
    assert set(events) == {real["event_id"], other["event_id"]}
    assert from_document(events[real["event_id"]]) == real
    assert events[real["event_id"]]["logferry"]["content_hash"] == content_hash(real).hex()
    (conflict,) = engine.documents(f"{prefix}-conflicts")
    assert conflict["event_id"] == real["event_id"] and conflict["content_hash"] == content_hash(fake).hex()
    assert orjson.loads(conflict["kept"]["event"]) == real
    assert orjson.loads(conflict["rejected"]["event"]) == fake
    assert (conflict["kept"]["offset"], conflict["rejected"]["offset"]) == (0, 3)
    assert conflict["kept"]["topic"] == conflict["rejected"]["topic"] == kafka_topic

    shown = run_consumer("status", "--config", str(config), "--json")
    assert shown.returncode == 0, shown.stderr
    status = orjson.loads(shown.stdout)
    assert status["conflicts"] == 1 and status["latest_conflicts"][0]["event_id"] == real["event_id"]

    # Search results are events: the sink's own field is not part of them.
    found = run_consumer("search", "--config", str(config), "--json", "--limit", "10")
    assert found.returncode == 0, found.stderr
    assert sorted(orjson.loads(line)["event_id"] for line in found.stdout.splitlines()) == sorted(events)
    assert all("logferry" not in orjson.loads(line) for line in found.stdout.splitlines())

    # A replay records nothing new.
    assert run_consumer("replay", "--config", str(config), "--to-earliest", "--yes").returncode == 0
    again = run_consumer("run", "--config", str(config), "--once", "--idle-timeout", ONCE_IDLE)
    assert again.returncode == 0, again.stderr[-3000:]
    assert (stopped(again)["indexed"], stopped(again)["duplicates_skipped"]) == (0, 4)
    assert len(engine.documents(f"{prefix}-conflicts")) == 1
