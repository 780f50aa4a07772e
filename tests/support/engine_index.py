"""What an OpenSearch or Elasticsearch node holds under a sink's index prefix, read over plain HTTP.

Both engines answer `_refresh`, `_count` and scrolled `_search` the same way, so the tests that compare what was
produced with what was indexed need no engine client (and no engine-specific code) to read either. Transient answers
(429, 502-504, a connection refused or reset while the node is busy) raise `EngineBusy`, for the caller to ask again
(tests/support/polling.py); anything else is raised as it is.
"""

import urllib.error
import urllib.request
from typing import Any

import orjson

TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
QUIET = "ignore_unavailable=true&allow_no_indices=true"
SCROLL_PAGE = 10_000


class EngineBusy(Exception):
    """The node did not answer this time, or answered that it is busy; asking again may work."""


def request(url: str, method: str, path: str, body: dict[str, Any] | None = None, *, timeout: float = 60) -> Any:
    """The decoded JSON answer of one request; EngineBusy on a transient failure."""
    data = orjson.dumps(body) if body is not None else None
    call = urllib.request.Request(f"{url.rstrip('/')}/{path.lstrip('/')}", data=data, method=method,
                                  headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(call, timeout=timeout) as response:
            return orjson.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        if error.code in TRANSIENT_STATUSES:
            raise EngineBusy(f"{method} {path} answered {error.code}") from error
        raise AssertionError(f"{method} {path} answered {error.code}: {error.read()[:500]!r}") from error
    except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
        raise EngineBusy(f"{method} {path} failed: {error}") from error


def count(url: str, indices: str) -> int:
    """Documents in `indices` (a pattern) after a refresh; 0 when none exists yet."""
    request(url, "POST", f"{indices}/_refresh?{QUIET}")
    return int(request(url, "POST", f"{indices}/_count?{QUIET}", {"query": {"match_all": {}}})["count"])


def all_ids(url: str, indices: str) -> list[str]:
    """The `_id` of every document in `indices`, one entry per document (an id stored twice, in two indices, shows
    twice), read with a scroll after a refresh."""
    request(url, "POST", f"{indices}/_refresh?{QUIET}")
    page = request(url, "POST", f"{indices}/_search?scroll=2m&{QUIET}",
                   {"size": SCROLL_PAGE, "_source": False, "sort": ["_doc"], "query": {"match_all": {}}})
    ids: list[str] = []
    scroll_id = page.get("_scroll_id")
    try:
        while page["hits"]["hits"]:
            ids.extend(hit["_id"] for hit in page["hits"]["hits"])
            page = request(url, "POST", "_search/scroll", {"scroll": "2m", "scroll_id": scroll_id})
            scroll_id = page.get("_scroll_id", scroll_id)
    finally:
        if scroll_id:
            try:
                request(url, "DELETE", "_search/scroll", {"scroll_id": [scroll_id]})
            except (EngineBusy, AssertionError):
                pass  # the scroll expires by itself
    return ids


def delete_prefix(url: str, prefix: str) -> None:
    """Delete the indices and index templates named `<prefix>-...` (by name: Elasticsearch refuses wildcard deletes
    by default). Best effort: what a busy node keeps is only disk space."""
    try:
        for index in request(url, "GET", f"_cat/indices/{prefix}-*?format=json&h=index&{QUIET}"):
            request(url, "DELETE", index["index"])
        templates = request(url, "GET", f"_index_template/{prefix}-*").get("index_templates", [])
        for template in templates:
            request(url, "DELETE", f"_index_template/{template['name']}")
    except (EngineBusy, AssertionError):
        pass
