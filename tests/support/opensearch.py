"""A real OpenSearch node for the tests, found or started in this order:

1. OPENSEARCH_URL from the environment;
2. compose/opensearch/local-opensearch, which fetches OpenSearch with Maven and runs it on loopback.

There is no fake and no skip: when neither gives a node, the tests that need one fail loudly.
"""

import time
from pathlib import Path
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.exceptions import TransportError

from tests.support.node_script import NodeScript, NodeUnavailable

ROOT = Path(__file__).resolve().parents[2]
LOCAL_OPENSEARCH = ROOT / "compose" / "opensearch" / "local-opensearch"
OpenSearchUnavailable = NodeUnavailable
_SCRIPT = NodeScript("opensearch")
local_opensearch = _SCRIPT.run
start_node = _SCRIPT.start_node
opensearch_node = _SCRIPT.node


# Statuses a healthy node answers while it is busy or a new index's shards are being allocated.
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
QUIET_PARAMS = {"ignore_unavailable": "true", "allow_no_indices": "true"}


def search_hits(url: str, index: str, body: dict[str, Any], *, deadline: float = 60.0) -> list[dict[str, Any]]:
    """The hits of a search after a refresh, retrying transient refusals (503 while shards allocate, 429, a
    connection reset) until `deadline` seconds have passed; other errors, and the last transient one, are raised."""
    give_up = time.monotonic() + deadline
    while True:
        client = OpenSearch(hosts=[url])
        try:
            client.indices.refresh(index=index, params=QUIET_PARAMS)
            response = client.search(index=index, body=body, params=QUIET_PARAMS)
            hits: list[dict[str, Any]] = response["hits"]["hits"]
            return hits
        except (TransportError, OpenSearchConnectionError) as error:
            transient = isinstance(error, OpenSearchConnectionError) or error.status_code in TRANSIENT_STATUSES
            if not transient or time.monotonic() >= give_up:
                raise
        finally:
            client.close()
        time.sleep(0.5)


def indexed_ids(url: str, prefix: str) -> list[str]:
    """The ids of every event document under the index prefix."""
    body = {"query": {"match_all": {}}, "size": 10_000, "_source": False}
    return [hit["_id"] for hit in search_hits(url, f"{prefix}-events-*", body)]
