"""A real Elasticsearch node for the tests, found or started in this order:

1. ELASTICSEARCH_URL from the environment;
2. compose/elasticsearch/local-elasticsearch, which fetches Elasticsearch with Maven and runs it on loopback.

There is no fake and no skip: when neither gives a node, the tests that need one fail loudly.
"""

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support import engine_http

ROOT = Path(__file__).resolve().parents[2]
LOCAL_ELASTICSEARCH = ROOT / "compose" / "elasticsearch" / "local-elasticsearch"


class ElasticsearchUnavailable(RuntimeError):
    """No Elasticsearch node could be found or started."""


def local_elasticsearch(*args: str, env: dict[str, str] | None = None, timeout: float = 400) -> str:
    """Run compose/elasticsearch/local-elasticsearch with `args`; its last output line. Raises ElasticsearchUnavailable."""
    result = subprocess.run(
        [str(LOCAL_ELASTICSEARCH), *args], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if result.returncode != 0:
        raise ElasticsearchUnavailable(
            f"local-elasticsearch {' '.join(args)} failed: {result.stderr.strip() or result.stdout.strip()}"
        )
    lines = result.stdout.strip().splitlines()
    return lines[-1] if lines else ""


def start_node(env: dict[str, str] | None = None) -> str:
    """Start (or reuse) a node; its URL."""
    line = local_elasticsearch("start", env=env)
    if not line.startswith("ELASTICSEARCH_URL="):
        raise ElasticsearchUnavailable(f"local-elasticsearch start printed {line!r} instead of the URL line")
    return line.split("=", 1)[1]


@contextmanager
def elasticsearch_node() -> Iterator[str]:
    """Yield the URL of a real node; stop it afterwards if this call started it."""
    configured = os.environ.get("ELASTICSEARCH_URL")
    if configured:
        yield configured
        return
    already_running = subprocess.run([str(LOCAL_ELASTICSEARCH), "status"], capture_output=True, text=True).returncode == 0
    try:  # local-elasticsearch start leaves the node running when it gives up waiting for it: stopped here too
        yield start_node()
    finally:
        if not already_running and os.environ.get("LOGFERRY_KEEP_ELASTICSEARCH") != "1":
            local_elasticsearch("stop")


def search_hits(url: str, index: str, body: dict[str, Any], *, deadline: float = 60.0) -> list[dict[str, Any]]:
    """The hits of a search after a refresh, retrying transient refusals until `deadline` seconds have passed."""
    return engine_http.search_hits(url, index, body, deadline=deadline)


def indexed_ids(url: str, prefix: str) -> list[str]:
    """The ids of every event document under the index prefix."""
    return engine_http.indexed_ids(url, prefix)
