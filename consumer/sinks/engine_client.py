"""The few requests the search-engine sinks and readers make, as one small protocol with an adapter per engine
(consumer.sinks.opensearch_client, consumer.sinks.elasticsearch_client) over that engine's official client.

Adapters raise EngineRequestError for every failed request, so the shared logic (bulk, retries, exactly once,
search, retention) never sees a library's exception types."""

from typing import Any, Protocol

# What a bulk response is cut down to: enough to tell, item by item, written, duplicate, retriable or refused.
FILTER_PATH = "errors,items.*.status,items.*.result,items.*.error.type,items.*.error.reason"


class EngineRequestError(Exception):
    """A request failed: `status` is the HTTP status, None when the node could not be reached or did not answer."""

    def __init__(self, message: str, status: int | None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def transient(self) -> bool:
        """Whether the same request may pass later: no answer, 429 (busy) or 5xx."""
        return self.status is None or self.status == 429 or self.status >= 500


class EngineClient(Protocol):
    """One engine node or cluster. Every method raises EngineRequestError."""

    # The engine's name in messages ("OpenSearch", "Elasticsearch").
    name: str
    # The mapping of a field holding arbitrary keys: flat_object or flattened, with its options.
    flat_field: dict[str, Any]

    def bulk(self, body: bytes, refresh: bool = False) -> dict[str, Any]:
        """Send NDJSON bulk lines (`refresh`: visible to searches when it returns); the response filtered to `errors`
        and each item's status, result and error."""
        ...

    def mget(self, docs: list[dict[str, str]]) -> list[dict[str, Any]]:
        """Real-time get of (`_index`, `_id`) pairs; one answer per pair, in order."""
        ...

    def get(self, index: str, doc_id: str) -> dict[str, Any] | None:
        """One document's `_source`; None when it or its index does not exist."""
        ...

    def search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        """A search of `index` (a pattern may match no index)."""
        ...

    def count(self, index: str, query: dict[str, Any] | None = None) -> int:
        """Documents of `index` (a pattern may match no index) matching `query` (all when None)."""
        ...

    def template_version(self, name: str) -> int | None:
        """`_meta.version` of the composable index template `name`; None when there is none (or it has no version)."""
        ...

    def put_template(self, name: str, body: dict[str, Any]) -> None:
        """Create or replace the composable index template `name`."""
        ...

    def indices(self, pattern: str) -> list[str]:
        """Names of the indices matching `pattern`."""
        ...

    def delete_index(self, name: str) -> None:
        """Delete one index (gone already is fine)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
