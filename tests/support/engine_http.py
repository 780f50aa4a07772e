"""Plain HTTP to an OpenSearch or Elasticsearch node for the tests (their REST APIs agree on everything used here),
so one test body checks both engines without either client library."""

import json
import time
import urllib.error
import urllib.request
from typing import Any

# Statuses a healthy node answers while it is busy or a new index's shards are being allocated.
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
QUIET = "ignore_unavailable=true&allow_no_indices=true"


class EngineHTTPError(RuntimeError):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"{status}: {body[:500]}")
        self.status = status


def request(url: str, method: str, path: str, body: Any = None) -> Any:
    """One request; the decoded JSON answer. Raises EngineHTTPError on a status >= 400."""
    data = None
    headers = {}
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = "application/x-ndjson" if isinstance(body, bytes) else "application/json"
    try:
        with urllib.request.urlopen(urllib.request.Request(url + path, data=data, method=method, headers=headers),
                                    timeout=60) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        raise EngineHTTPError(error.code, error.read().decode("utf-8", "replace")) from None


def search_hits(url: str, index: str, body: dict[str, Any], *, deadline: float = 60.0) -> list[dict[str, Any]]:
    """The hits of a search after a refresh, retrying transient refusals (503 while shards allocate, 429, a
    connection reset) until `deadline` seconds have passed; other errors, and the last transient one, are raised."""
    give_up = time.monotonic() + deadline
    while True:
        try:
            request(url, "POST", f"/{index}/_refresh?{QUIET}")
            hits: list[dict[str, Any]] = request(url, "POST", f"/{index}/_search?{QUIET}", body)["hits"]["hits"]
            return hits
        except (EngineHTTPError, OSError) as error:
            transient = not isinstance(error, EngineHTTPError) or error.status in TRANSIENT_STATUSES
            if not transient or time.monotonic() >= give_up:
                raise
        time.sleep(0.5)


def indexed_ids(url: str, prefix: str) -> list[str]:
    """The ids of every event document under the index prefix."""
    body = {"query": {"match_all": {}}, "size": 10_000, "_source": False}
    return [hit["_id"] for hit in search_hits(url, f"{prefix}-events-*", body)]


def documents(url: str, index: str, body: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The `_source` of the documents of `index` (the first 10,000 matching `body`)."""
    return [hit["_source"] for hit in search_hits(url, index, body or {"query": {"match_all": {}}, "size": 10_000})]


def exists(url: str, index: str) -> bool:
    """Whether the index exists."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url + f"/{index}", method="HEAD"), timeout=60):
            return True
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return False
        raise
