"""Issue 14, "The test suite flakes": a test failed with a 503 `search_phase_execution_exception` while a new index's
shard was being allocated, because the helper searching the index did not retry.

On a real node of each engine, an index's shard is kept unassigned (created under an allocation filter naming no
node): a search there really answers 503 search_phase_execution_exception. The
tests' search helpers wait through it and return the document once the filter is lifted and the shard allocated;
"""

import threading
import time
import tomllib
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from consumer.config import parse_config
from consumer.sinks.registry import open_reader
from tests.support import engine_http, opensearch
from tests.support.engines import EngineNode

FILTER = "index.routing.allocation.require._name"
BODY: dict[str, object] = {"query": {"match_all": {}}}


@contextmanager
def unassigned_index(engine: EngineNode, index: str = "") -> Iterator[str]:
    """An index whose only shard is unassigned (created under an allocation filter that names no node); deleted
    afterwards. A search there really answers 503 search_phase_execution_exception (checked: else the test would
    prove nothing). Creating it so, rather than closing and reopening a written index, holds on Elasticsearch too,
    which keeps a closed index's shards where they were and then sometimes leaves them started on reopen."""
    index = index or f"why-shards-{uuid.uuid4().hex[:10]}"
    try:
        settings = {"number_of_shards": 1, "number_of_replicas": 0, FILTER: "no-such-node"}
        engine.request("PUT", f"/{index}?wait_for_active_shards=0", {"settings": settings})
        with pytest.raises(engine_http.EngineHTTPError) as refused:
            engine.request("POST", f"/{index}/_search", BODY)
        assert refused.value.status == 503 and "search_phase_execution_exception" in str(refused.value)
        yield index
    finally:
        try:
            engine.request("DELETE", f"/{index}")
        except engine_http.EngineHTTPError as error:
            if error.status != 404:
                raise


def allocate_and_write_later(engine: EngineNode, index: str, delay: float) -> threading.Thread:
    """After `delay` seconds, lifts the filter and writes one document (the write waits for the primary)."""

    def lift() -> None:
        time.sleep(delay)
        engine.request("PUT", f"/{index}/_settings", {FILTER: None})
        engine.request("PUT", f"/{index}/_doc/1?refresh=true&timeout=2m", {"message": "allocated at last"})

    thread = threading.Thread(target=lift, daemon=True)
    thread.start()
    return thread


def search_through_503(search: Callable[[], list[dict[str, Any]]], writing: threading.Thread) -> list[dict[str, Any]]:
    """The first search must come back (not raise) through the 503s. The shard may start before the document is
    written, so once the writer is done, a search that found nothing yet is made again."""
    hits = search()
    writing.join(60)
    assert not writing.is_alive(), "the document was not written within 60 s of the filter's lifting"
    return hits or search()


def test_a_search_waits_through_503_while_the_shard_is_unassigned(engine: EngineNode) -> None:
    with unassigned_index(engine) as index:
        writing = allocate_and_write_later(engine, index, 2.0)
        hits = search_through_503(lambda: engine_http.search_hits(engine.url, index, BODY), writing)
    assert [hit["_source"]["message"] for hit in hits] == ["allocated at last"]


@pytest.mark.opensearch
def test_the_opensearch_client_helper_waits_too(opensearch_url: str) -> None:
    engine = EngineNode("opensearch", opensearch_url)
    with unassigned_index(engine) as index:
        writing = allocate_and_write_later(engine, index, 2.0)
        hits = search_through_503(lambda: opensearch.search_hits(opensearch_url, index, BODY), writing)
    assert [hit["_source"]["message"] for hit in hits] == ["allocated at last"]


def test_the_consumers_reader_waits_through_503_too(engine: EngineNode, tmp_path: Path) -> None:
    """What `consumer search`, `status` and the console read through (consumer.sinks.engine_reader) asks again while
    the engine answers 503, instead of failing the command: the count below starts while the shard is unassigned."""
    prefix = f"why-reader-{uuid.uuid4().hex[:10]}"
    config = parse_config(tomllib.loads(engine.config(tmp_path, "127.0.0.1:9", "unused", group="g", prefix=prefix)
                                        .read_text()))
    with unassigned_index(engine, f"{prefix}-events-2026.01.01") as index:
        writing = allocate_and_write_later(engine, index, 2.0)
        reader = open_reader(config)
        try:
            events, _dead = reader.totals()  # raised SinkError (503, retriable) before the reader retried
            writing.join(60)
            assert not writing.is_alive(), "the document was not written within 60 s of the filter's lifting"
            after, _dead = reader.totals()  # written with refresh=true
        finally:
            reader.close()
    assert events in (0, 1)
    assert after == 1
