"""Issue 14, "The test suite flakes": a test failed with a 503 `search_phase_execution_exception` while a new index's
shard was being allocated, because the helper searching the index did not retry.

On a real node of each engine, an index's shard is kept unassigned (an allocation filter naming no node, applied
while the index is closed and reopened): a search there really answers 503 search_phase_execution_exception. The
tests' search helpers wait through it and return the document once the filter is lifted and the shard allocated;
"""

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.support import engine_http, opensearch
from tests.support.engines import EngineNode

FILTER = "index.routing.allocation.require._name"
BODY: dict[str, object] = {"query": {"match_all": {}}}


@contextmanager
def unassigned_index(engine: EngineNode) -> Iterator[str]:
    """An index holding one document whose only shard is unassigned; deleted afterwards. A search there really
    answers 503 search_phase_execution_exception (checked: else the test would prove nothing)."""
    index = f"why-shards-{uuid.uuid4().hex[:10]}"
    try:
        engine.request("PUT", f"/{index}", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
        engine.request("PUT", f"/{index}/_doc/1?refresh=true", {"message": "allocated at last"})
        engine.request("POST", f"/{index}/_close")
        engine.request("PUT", f"/{index}/_settings", {FILTER: "no-such-node"})
        engine.request("POST", f"/{index}/_open?wait_for_active_shards=0")
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


def lift_filter_later(engine: EngineNode, index: str, delay: float) -> threading.Thread:
    def lift() -> None:
        time.sleep(delay)
        engine.request("PUT", f"/{index}/_settings", {FILTER: None})

    thread = threading.Thread(target=lift, daemon=True)
    thread.start()
    return thread


def test_a_search_waits_through_503_while_the_shard_is_unassigned(engine: EngineNode) -> None:
    with unassigned_index(engine) as index:
        lifting = lift_filter_later(engine, index, 2.0)
        hits = engine_http.search_hits(engine.url, index, BODY)
        lifting.join(30)
    assert [hit["_source"]["message"] for hit in hits] == ["allocated at last"]


@pytest.mark.opensearch
def test_the_opensearch_client_helper_waits_too(opensearch_url: str) -> None:
    engine = EngineNode("opensearch", opensearch_url)
    with unassigned_index(engine) as index:
        lifting = lift_filter_later(engine, index, 2.0)
        hits = opensearch.search_hits(opensearch_url, index, BODY)
        lifting.join(30)
    assert [hit["_source"]["message"] for hit in hits] == ["allocated at last"]
