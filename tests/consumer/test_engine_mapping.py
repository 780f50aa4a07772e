"""The search engines' mapping cannot conflict: no valid event is refused for the shape of its attributes, whatever came
before it into the same index, and every one of them is found by its attributes. Real broker, real OpenSearch and
Elasticsearch nodes (the `engine` fixture), one daily index for all events so that every shape meets every other."""

import random
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from consumer.config import load_config
from consumer.sinks.base import SearchQuery
from consumer.sinks.engine_schema import TEMPLATE_VERSION, from_document, to_document
from consumer.sinks.registry import open_reader
from schemas.validate import check_event
from tests.consumer.helpers import make_events, produce, run_consumer
from tests.support.engines import ONCE_IDLE, EngineNode

pytestmark = [pytest.mark.kafka]

# An application's attribute named like an ECS object, and the ECS field another parser emits under it.
ECS_CLASHES = [
    ({"user": "bob"}, {"user.name": "alice"}),
    ({"http": "GET /"}, {"http.request.method": "GET", "http.response.status_code": 200}),
    ({"url": "/orders/42"}, {"url.path": "/orders/42", "url.original": "/orders/42?x=1"}),
    ({"client": "curl/8.0"}, {"client.address": "10.0.0.7", "client.port": 51234}),
    ({"log": "line text"}, {"log.level": "info", "log.logger": "app"}),
    ({"user": 7}, {"user": {"name": "carol", "roles": ["a", "b"]}}),
]


def stopped(result: Any) -> dict[str, Any]:
    line = next(line for line in result.stderr.splitlines() if '"Stopped."' in line)
    value: dict[str, Any] = orjson.loads(line)
    return value


def with_attributes(events: list[dict[str, Any]], shapes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`events`, each with one of `shapes` added to its attributes (all in one day: one index)."""
    for event, shape in zip(events, shapes, strict=True):
        event["attributes"].update(shape)
        assert check_event(event) is None
    return events


def index_and_count(engine: EngineNode, tmp_path: Path, bootstrap: str, topic: str, events: list[dict[str, Any]]) -> tuple[
        Path, dict[str, Any]]:
    prefix = f"m{uuid.uuid4().hex[:10]}"
    config = engine.config(tmp_path, bootstrap, topic, group=f"map-{prefix}", prefix=prefix)
    produce(bootstrap, topic, events)
    result = run_consumer("run", "--config", str(config), "--once", "--idle-timeout", ONCE_IDLE)
    assert result.returncode == 0, result.stderr[-3000:]
    return config, stopped(result)


def search(config: Path, **filters: Any) -> list[str]:
    reader = open_reader(load_config(config))
    try:
        return [e["event_id"] for e in reader.search(SearchQuery(limit=2000, **filters))]
    finally:
        reader.close()


@pytest.mark.parametrize("order", ["app_first", "ecs_first"])
def test_an_app_attribute_named_like_an_ecs_object_and_the_ecs_field_both_index_in_either_order(
    engine: EngineNode, tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, order: str
) -> None:
    shapes = [shape for pair in ECS_CLASHES for shape in (pair if order == "app_first" else pair[::-1])]
    events = with_attributes(make_events(len(shapes)), shapes)
    config, counts = index_and_count(engine, tmp_path, kafka_bootstrap, kafka_topic, events)
    assert (counts["indexed"], counts["dead_letters"]) == (len(events), 0)
    ids = [e["event_id"] for e in events]
    # Each shape is found by its own attribute, compared as text.
    assert search(config, attributes=(("user", "bob"),)) == [ids[shapes.index({"user": "bob"})]]
    assert search(config, attributes=(("user.name", "alice"),)) == [ids[shapes.index({"user.name": "alice"})]]
    nested = ids[shapes.index({"user": {"name": "carol", "roles": ["a", "b"]}})]
    assert search(config, attributes=(("user.name", "carol"),)) == [nested]  # a nested object and a dotted key alike
    assert search(config, attributes=(("user.roles", "b"),)) == [nested]
    assert search(config, attributes=(("user", "7"),)) == [ids[shapes.index({"user": 7})]]
    assert search(config, attributes=(("http.response.status_code", "200"),)) == [ids[shapes.index(ECS_CLASHES[1][1])]]
    assert search(config, attributes=(("log", "line text"),)) == [ids[shapes.index({"log": "line text"})]]
    assert search(config, attributes=(("client.port", "51234"), ("client.address", "10.0.0.7"))) == [
        ids[shapes.index(ECS_CLASHES[3][1])]]
    # The schema's own keys are typed fields, found as before.
    assert len(search(config, attributes=(("log.file.path", "/var/log/api.log"),))) == len(events)
    assert search(config, attributes=(("log.file.record_offset", "300"),)) == [ids[3]]
    assert len(search(config, service="api", host="web-1")) == len(events)
    # Search results are the events as they were produced.
    reader = open_reader(load_config(config))
    try:
        found = {e["event_id"]: e for e in reader.search(SearchQuery(limit=100))}
    finally:
        reader.close()
    assert found == {e["event_id"]: e for e in events}


KEYS = ("user", "name", "http", "url", "client", "log", "id", "a", "b", "status", "x", "event", "host", "file", "0", "")


def random_value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if roll < 0.25:
        tail = "" if rng.random() < 0.9 else "!" * rng.randint(1, 50)
        return rng.choice(["bob", "", "x y z", "ünï", "42", "true", "null"]) + tail
    if roll < 0.40:
        return rng.randint(-2**63, 2**63 - 1) if rng.random() < 0.2 else rng.randint(0, 1000)
    if roll < 0.47:
        return rng.uniform(-1e6, 1e6)
    if roll < 0.54:
        return rng.random() < 0.5
    if roll < 0.58:
        return None
    if roll < 0.60:
        return "L" * rng.randint(8_000, 40_000)  # past what one term may hold
    if roll < 0.80 and depth < 6:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if depth < 6:
        return random_shape(rng, depth + 1)
    return "leaf"


def random_key(rng: random.Random) -> str:
    return ".".join(rng.choice(KEYS) for _ in range(rng.randint(1, 4)))


def random_shape(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    return {random_key(rng): random_value(rng, depth) for _ in range(rng.randint(1, 5))}


def scalar_leaves(value: Any, path: str = "") -> list[tuple[str, str]]:
    """(dotted path, value as text) of the string and integer leaves reachable without a list, short enough to index."""
    if isinstance(value, dict):
        return [leaf for key, v in value.items() for leaf in scalar_leaves(v, f"{path}.{key}" if path else key)]
    if isinstance(value, bool) or value is None or isinstance(value, (float, list)):
        return []
    text = str(value)
    return [(path, text)] if len(text) < 1000 and path else []


@pytest.mark.slow
def test_a_thousand_random_attribute_shapes_in_one_index_are_all_indexed_and_found(
    engine: EngineNode, tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    rng = random.Random(13)
    shapes = [random_shape(rng) for _ in range(1_000)]
    events = with_attributes(make_events(len(shapes)), shapes)
    config, counts = index_and_count(engine, tmp_path, kafka_bootstrap, kafka_topic, events)
    assert (counts["indexed"], counts["dead_letters"]) == (len(events), 0)
    by_id = {e["event_id"]: e for e in events}
    prefix = load_config(config).sink.index_prefix  # type: ignore[attr-defined]
    assert sorted(engine.indexed_ids(prefix)) == sorted(by_id)
    # Every event comes back as it went in.
    for document in engine.documents(f"{prefix}-events-*"):
        assert from_document(document) == by_id[document["event_id"]]
    # And each is found by attribute equality on one of its leaves (the first scalar, compared as text), but for the
    # attributes holding a value past what the flat field indexes (kept, not searchable: see engine_schema).
    probed = 0
    for event in events:
        leaves = scalar_leaves(to_document(event).get("attributes", {}))
        if not leaves or probed >= 150:
            continue
        path, text = leaves[0]
        assert event["event_id"] in search(config, attributes=((path, text),)), (path, text, event["attributes"])
        probed += 1
    assert probed == 150


def test_the_document_layout_round_trips_and_keeps_unindexable_values_out_of_the_flat_field() -> None:
    (event,) = make_events(1)
    event["attributes"].update({"user": "bob", "huge": "x" * 40_000, "deep": {"a": [{"b": "y" * 9_000}]}})
    event["resource"]["k8s.pod.name"] = "p-1"
    event["body"] = {"msg": "hello", "blob": "z" * 40_000}
    document = to_document(event)
    assert document["attributes"] == {"user": "bob"}
    assert set(document["attributes_unindexed"]) == {"huge", "deep"}
    assert document["log.file.path"] == "/var/log/api.log" and document["service.name"] == "api"
    assert document["resource"] == {"k8s.pod.name": "p-1"}
    assert "resource" not in to_document(make_events(1)[0])  # nothing left once the typed keys are out
    assert "body_object_unindexed" in document and orjson.loads(document["body"]) == event["body"]
    assert from_document(orjson.loads(orjson.dumps(document))) == event


def test_setup_installs_the_template_once_and_again_when_its_version_is_older(
    engine: EngineNode, tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    prefix = f"v{uuid.uuid4().hex[:10]}"
    config = engine.config(tmp_path, kafka_bootstrap, kafka_topic, group=f"map-{prefix}", prefix=prefix)
    # An older consumer's template (no _meta.version): the events of "user": "bob" become a keyword under it.
    engine.request("PUT", f"/_index_template/{prefix}-events", {
        "index_patterns": [f"{prefix}-events-*"], "priority": 200, "template": {"mappings": {"dynamic": True}}})
    produce(kafka_bootstrap, kafka_topic, with_attributes(make_events(2), [{"user": "bob"}, {"user.name": "x"}]))
    first = run_consumer("run", "--config", str(config), "--once", "--idle-timeout", ONCE_IDLE)
    assert first.returncode == 0, first.stderr[-3000:]
    assert '"Index templates installed."' in first.stderr
    installed = engine.request("GET", f"/_index_template/{prefix}-events")["index_templates"][0]["index_template"]
    assert installed["_meta"]["version"] == TEMPLATE_VERSION
    assert stopped(first)["dead_letters"] == 0
    again = run_consumer("run", "--config", str(config), "--once", "--idle-timeout", ONCE_IDLE)
    assert again.returncode == 0, again.stderr[-3000:]
    assert '"Index templates installed."' not in again.stderr  # up to date: left alone


def test_an_index_of_the_old_layout_is_still_searched_by_service_and_attributes(
    engine: EngineNode, tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    """Before TEMPLATE_VERSION 2 a document was the event itself (dotted keys as object paths, dynamic keywords): an
    index made then keeps that mapping, and the reader still finds its events by the fields that moved."""
    prefix = f"o{uuid.uuid4().hex[:10]}"
    config = engine.config(tmp_path, kafka_bootstrap, kafka_topic, group=f"map-{prefix}", prefix=prefix)
    (old,) = with_attributes(make_events(1), [{"order_id": 42}])
    engine.request("PUT", f"/{prefix}-events-2025.12.31", {"mappings": {  # the old template's essentials
        "dynamic": True, "dynamic_templates": [{"strings_as_keywords": {"match_mapping_type": "string", "mapping": {
            "type": "keyword"}}}],
        "properties": {"timestamp": {"type": "date_nanos"}, "event_id": {"type": "keyword"}}}})
    engine.request("PUT", f"/{prefix}-events-2025.12.31/_doc/{old['event_id']}?refresh=true", old)
    (new,) = make_events(1, start=1)
    produce(kafka_bootstrap, kafka_topic, [new])
    result = run_consumer("run", "--config", str(config), "--once", "--idle-timeout", ONCE_IDLE)
    assert result.returncode == 0, result.stderr[-3000:]
    assert search(config, service="api") == [new["event_id"], old["event_id"]]
    assert search(config, attributes=(("log.file.path", "/var/log/api.log"),)) == [new["event_id"], old["event_id"]]
    assert search(config, attributes=(("order_id", "42"),)) == [old["event_id"]]
    reader = open_reader(load_config(config))
    try:
        assert reader.search(SearchQuery(limit=5)) == [new, old]
    finally:
        reader.close()
