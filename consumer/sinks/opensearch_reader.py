"""Reading the OpenSearch index: search (all words of the body plus filters, newest first) and totals."""

from typing import Any

from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.exceptions import TransportError

from consumer.sinks.base import IndexReader, SearchQuery, SinkError
from consumer.sinks.opensearch import make_client
from consumer.sinks.opensearch_schema import conflicts_index, deadletters_index, from_document
from consumer.sinks.opensearch_settings import OpenSearchSettings


class OpenSearchReader(IndexReader):
    """Search and totals over <prefix>-events-* and <prefix>-deadletters; Kafka keeps the offsets."""

    def __init__(self, settings: OpenSearchSettings) -> None:
        self._client = make_client(settings)
        self._events = f"{settings.index_prefix}-events-*"
        self._dead = deadletters_index(settings.index_prefix)
        self._conflicts = conflicts_index(settings.index_prefix)

    def search(self, query: SearchQuery) -> list[dict[str, Any]]:
        must: list[dict[str, Any]] = []
        filters: list[dict[str, Any]] = []
        if query.text.strip():
            must.append({"match": {"body": {"query": query.text, "operator": "and"}}})
        if query.since is not None or query.until is not None:
            bounds = {k: v for k, v in (("gte", query.since), ("lt", query.until)) if v is not None}
            filters.append({"range": {"timestamp": bounds}})
        if query.min_severity is not None:
            filters.append({"range": {"severity_number": {"gte": query.min_severity}}})
        if query.service is not None:
            filters.append({"term": {"resource.service.name": query.service}})
        if query.host is not None:
            filters.append({"term": {"resource.host.name": query.host}})
        body = {
            "query": {"bool": {"must": must or [{"match_all": {}}], "filter": filters}},
            "sort": [{"timestamp": {"order": "desc"}}, {"event_id": {"order": "desc"}}],
            "size": query.limit,
        }
        try:
            response = self._client.search(index=self._events, body=body, params={"ignore_unavailable": "true"})
        except (TransportError, OpenSearchConnectionError) as error:
            raise SinkError(f"searching OpenSearch failed: {error}", retriable=True) from error
        return [from_document(hit["_source"]) for hit in response["hits"]["hits"]]

    def totals(self) -> tuple[int, int]:
        counts = []
        for index in (self._events, self._dead):
            try:
                response = self._client.count(index=index, params={"ignore_unavailable": "true", "allow_no_indices": "true"})
            except (TransportError, OpenSearchConnectionError) as error:
                raise SinkError(f"counting in OpenSearch failed: {error}", retriable=True) from error
            counts.append(int(response["count"]))
        return counts[0], counts[1]

    def conflicts(self, limit: int) -> tuple[int, list[dict[str, Any]]]:
        params = {"ignore_unavailable": "true", "allow_no_indices": "true"}
        try:
            count = self._client.count(index=self._conflicts, params=params)
            latest = self._client.search(index=self._conflicts, params=params, body={
                "sort": [{"detected_at": {"order": "desc"}}], "size": limit,
                "_source": ["event_id", "detected_at", "kept.topic", "kept.partition", "kept.offset",
                            "rejected.topic", "rejected.partition", "rejected.offset"]})
        except (TransportError, OpenSearchConnectionError) as error:
            raise SinkError(f"reading conflicts from OpenSearch failed: {error}", retriable=True) from error
        rows = []
        for hit in latest["hits"]["hits"]:
            source = hit["_source"]
            rows.append({"event_id": source["event_id"], "detected_at": source["detected_at"],
                         "kept": source.get("kept", {}), "rejected": source.get("rejected", {})})
        return int(count["count"]), rows

    def close(self) -> None:
        self._client.close()
