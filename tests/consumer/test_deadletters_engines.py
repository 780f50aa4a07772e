"""`deadletters list|show|redrive` on a search engine's `<prefix>-deadletters` index (OpenSearch and Elasticsearch, the
`engine` fixture) against the real broker and node: a record too large for the limit is listed and shown, redriven
after the limit is raised, and indexed exactly once when redriven twice."""

import uuid
from pathlib import Path

import orjson
import pytest

from tests.consumer.helpers import make_events, produce, run_consumer
from tests.consumer.test_deadletters import at, cli, listed
from tests.support.engines import ONCE_IDLE, EngineNode

pytestmark = pytest.mark.kafka

LIMIT = 2_000


def event_ids(engine: EngineNode, prefix: str) -> list[str]:
    """The event_id of every event document under the prefix (after a refresh)."""
    return [document["event_id"] for document in engine.documents(f"{prefix}-events-*")]


def test_list_show_and_redrive_exactly_once(engine: EngineNode, kafka_bootstrap: str, kafka_topic: str,
                                            tmp_path: Path) -> None:
    group = f"dl-{uuid.uuid4().hex[:8]}"
    prefix = f"d{group}"
    strict = engine.config(tmp_path, kafka_bootstrap, kafka_topic, group=group, prefix=prefix,
                           extra=f"max_record_bytes = {LIMIT}")
    fixed = tmp_path / "fixed.toml"
    fixed.write_text(strict.read_text().replace(f"max_record_bytes = {LIMIT}\n", ""))
    events, big = make_events(3), make_events(1, start=3, body="x" * 2_500)
    produce(kafka_bootstrap, kafka_topic, events + big, raw=[(b"k-json", b"{not json")])
    assert run_consumer("run", "--config", str(strict), "--once", "--idle-timeout", ONCE_IDLE).returncode == 0
    engine.request("POST", f"/{prefix}-*/_refresh")

    letters = listed(strict)
    assert sorted(x["error"].split(":")[0] for x in letters) == sorted([
        f"the record is {len(orjson.dumps(big[0]))} bytes, more than max_record_bytes {LIMIT}".split(":")[0],
        "the record is not valid JSON"])
    (too_large,) = [x for x in letters if "max_record_bytes" in x["error"]]
    shown = cli("deadletters", "show", "--config", str(strict), at(too_large))
    assert shown.returncode == 0, shown.stderr
    assert "x" * 2_500 in shown.stdout and f"size: {too_large['size']} bytes (all kept)" in shown.stdout
    assert sorted(event_ids(engine, prefix)) == sorted(e["event_id"] for e in events)

    for attempt in (1, 2):  # the second redrive is harmless: the event's _id is taken
        done = cli("deadletters", "redrive", "--config", str(fixed), at(too_large), "--yes")
        assert done.returncode == 0, done.stderr
        assert run_consumer("run", "--config", str(fixed), "--once", "--idle-timeout", ONCE_IDLE).returncode == 0
        engine.request("POST", f"/{prefix}-*/_refresh")
        assert sorted(event_ids(engine, prefix)) == sorted(e["event_id"] for e in events + big), attempt
        (marked,) = [x for x in listed(fixed) if at(x) == at(too_large)]
        assert marked["redriven_at"]
    assert len(listed(fixed)) == 2  # nothing new was refused
    status = orjson.loads(run_consumer("status", "--config", str(fixed), "--json").stdout)
    assert (status["indexed_events"], status["dead_letters"], status["oldest_event"]) == (
        4, 2, "2026-01-01T00:00:00.000000000Z")
