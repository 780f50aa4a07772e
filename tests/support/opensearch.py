"""A real OpenSearch node for the tests, found or started in this order:

1. OPENSEARCH_URL from the environment;
2. compose/opensearch/local-opensearch, which fetches OpenSearch with Maven and runs it on loopback.

There is no fake and no skip: when neither gives a node, the tests that need one fail loudly.
"""

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.exceptions import TransportError

ROOT = Path(__file__).resolve().parents[2]
LOCAL_OPENSEARCH = ROOT / "compose" / "opensearch" / "local-opensearch"


class OpenSearchUnavailable(RuntimeError):
    """No OpenSearch node could be found or started."""


def local_opensearch(*args: str, env: dict[str, str] | None = None, timeout: float = 400) -> str:
    """Run compose/opensearch/local-opensearch with `args`; its last output line. Raises OpenSearchUnavailable."""
    result = subprocess.run(
        [str(LOCAL_OPENSEARCH), *args], capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )
    if result.returncode != 0:
        raise OpenSearchUnavailable(
            f"local-opensearch {' '.join(args)} failed: {result.stderr.strip() or result.stdout.strip()}"
        )
    lines = result.stdout.strip().splitlines()
    return lines[-1] if lines else ""


def start_node(env: dict[str, str] | None = None) -> str:
    """Start (or reuse) a node; its URL."""
    line = local_opensearch("start", env=env)
    if not line.startswith("OPENSEARCH_URL="):
        raise OpenSearchUnavailable(f"local-opensearch start printed {line!r} instead of the URL line")
    return line.split("=", 1)[1]


@contextmanager
def opensearch_node() -> Iterator[str]:
    """Yield the URL of a real node; stop it afterwards if this call started it."""
    configured = os.environ.get("OPENSEARCH_URL")
    if configured:
        yield configured
        return
    already_running = subprocess.run([str(LOCAL_OPENSEARCH), "status"], capture_output=True, text=True).returncode == 0
    try:  # local-opensearch start leaves the node running when it gives up waiting for it: stopped here too
        yield start_node()
    finally:
        if not already_running and os.environ.get("LOGFERRY_KEEP_OPENSEARCH") != "1":
            local_opensearch("stop")


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
