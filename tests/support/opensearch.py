"""A real OpenSearch node for the tests, found or started in this order:

1. OPENSEARCH_URL from the environment;
2. compose/opensearch/local-opensearch, which fetches OpenSearch with Maven and runs it on loopback.

There is no fake and no skip: when neither gives a node, the tests that need one fail loudly.
"""

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
    url = start_node()
    try:
        yield url
    finally:
        if not already_running and os.environ.get("LOGFERRY_KEEP_OPENSEARCH") != "1":
            local_opensearch("stop")
