"""A real Elasticsearch node for the tests, found or started in this order:

1. ELASTICSEARCH_URL from the environment;
2. compose/elasticsearch/local-elasticsearch, which fetches Elasticsearch with Maven and runs it on loopback.

There is no fake and no skip: when neither gives a node, the tests that need one fail loudly.
"""

from pathlib import Path
from typing import Any

from tests.support import engine_http
from tests.support.node_script import NodeScript, NodeUnavailable

ROOT = Path(__file__).resolve().parents[2]
LOCAL_ELASTICSEARCH = ROOT / "compose" / "elasticsearch" / "local-elasticsearch"
ElasticsearchUnavailable = NodeUnavailable
_SCRIPT = NodeScript("elasticsearch")
local_elasticsearch = _SCRIPT.run
start_node = _SCRIPT.start_node
elasticsearch_node = _SCRIPT.node


def search_hits(url: str, index: str, body: dict[str, Any], *, deadline: float = 60.0) -> list[dict[str, Any]]:
    """The hits of a search after a refresh, retrying transient refusals until `deadline` seconds have passed."""
    return engine_http.search_hits(url, index, body, deadline=deadline)


def indexed_ids(url: str, prefix: str) -> list[str]:
    """The ids of every event document under the index prefix."""
    return engine_http.indexed_ids(url, prefix)
