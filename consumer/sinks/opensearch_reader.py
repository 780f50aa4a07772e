"""Reading the OpenSearch index: search (all words of the body plus filters, newest first), totals, the oldest event,
and the dead letters (list, one, mark redriven)."""

import base64
import time
from collections.abc import Iterable
from typing import Any

import orjson
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.exceptions import NotFoundError, TransportError

from consumer.sinks.base import DeadLetterRecord, IndexReader, SearchQuery, SinkError
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
        # Minimal, so a field filter is never ignored (dotted keys are object paths in this mapping); the engines'
        # conflict-free mapping brings its own attribute field.
        if query.trace_id is not None:
            filters.append({"term": {"trace_id": query.trace_id}})
        for key, value in query.attributes:
            filters.append({"term": {f"attributes.{key}": value}})
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

    def oldest_timestamp(self) -> str | None:
        # The first hit sorted by timestamp rather than a min aggregation: an aggregation answers in milliseconds
        # (a double), the sorted hit is the stored RFC 3339 string with its nanoseconds.
        body = {"size": 1, "sort": [{"timestamp": {"order": "asc"}}], "_source": ["timestamp"],
                "track_total_hits": False}
        try:
            response = self._client.search(index=self._events, body=body, params=_MAYBE_NO_INDEX)
        except (TransportError, OpenSearchConnectionError) as error:
            raise SinkError(f"reading the oldest event from OpenSearch failed: {error}", retriable=True) from error
        hits = response["hits"]["hits"]
        return str(hits[0]["_source"]["timestamp"]) if hits else None

    def dead_letters(self, limit: int, topic: str | None = None) -> list[DeadLetterRecord]:
        query: dict[str, Any] = {"term": {"topic": topic}} if topic is not None else {"match_all": {}}
        body = {"query": query, "size": limit,
                "sort": [{"received_at": {"order": "desc"}}, {"topic": {"order": "asc"}},
                         {"partition": {"order": "asc"}}, {"offset": {"order": "desc"}}]}
        try:
            response = self._client.search(index=self._dead, body=body, params=_MAYBE_NO_INDEX)
        except (TransportError, OpenSearchConnectionError) as error:
            raise SinkError(f"reading dead letters from OpenSearch failed: {error}", retriable=True) from error
        return [_dead_letter(hit["_source"]) for hit in response["hits"]["hits"]]

    def dead_letter(self, topic: str, partition: int, offset: int) -> DeadLetterRecord | None:
        try:
            response = self._client.get(index=self._dead, id=dead_letter_id(topic, partition, offset),
                                        params={"ignore": "404"})
        except NotFoundError:
            return None
        except (TransportError, OpenSearchConnectionError) as error:
            raise SinkError(f"reading a dead letter from OpenSearch failed: {error}", retriable=True) from error
        return _dead_letter(response["_source"]) if response.get("found") else None

    def mark_redriven(self, letters: Iterable[DeadLetterRecord]) -> None:
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        lines = []
        for letter in letters:
            lines.append(orjson.dumps({"update": {"_index": self._dead, "_id": dead_letter_id(
                letter.topic, letter.partition, letter.offset)}}))
            lines.append(orjson.dumps({"doc": {"redriven_at": now}}))
        if not lines:
            return
        try:  # wait_for: a `list` right after shows it
            response = self._client.bulk(body=b"\n".join(lines) + b"\n", params={"refresh": "wait_for"})
        except (TransportError, OpenSearchConnectionError) as error:
            raise SinkError(f"recording the redrive in OpenSearch failed: {error}", retriable=True) from error
        if response.get("errors"):
            failed = [item for item in response["items"] if item.get("update", {}).get("error")]
            raise SinkError(f"OpenSearch refused to record the redrive: {failed[:1]}", retriable=True)

    def close(self) -> None:
        self._client.close()


_MAYBE_NO_INDEX = {"ignore_unavailable": "true", "allow_no_indices": "true"}


def dead_letter_id(topic: str, partition: int, offset: int) -> str:
    """The `_id` the sink gives a dead letter (consumer/sinks/opensearch.py `_write_dead_letters`)."""
    return f"{topic}:{partition}:{offset}"


def _dead_letter(source: dict[str, Any]) -> DeadLetterRecord:
    """A dead-letter document as a record; `key_base64` when the sink stored the key (None otherwise)."""
    raw = base64.b64decode(source["raw_base64"]) if source.get("raw_base64") else b""
    key = source.get("key_base64")
    return DeadLetterRecord(
        topic=str(source["topic"]), partition=int(source["partition"]), offset=int(source["offset"]),
        error=str(source.get("error", "")), size=int(source.get("size", len(raw))),
        key=base64.b64decode(key) if key else None, raw=raw, received_at=str(source.get("received_at", "")),
        redriven_at=str(source["redriven_at"]) if source.get("redriven_at") else None,
    )
