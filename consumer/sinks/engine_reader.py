"""Reading a search-engine index (OpenSearch, Elasticsearch): search (all words of the body plus field filters,
newest first), totals, conflicts, the oldest event kept, and the dead letters (list, one, mark redriven).

Field filters work on both document layouts (engine_schema): a schema key such as `log.file.path` or `service.name`
is looked for in its own field and, for indices made before TEMPLATE_VERSION 2, under `attributes.` / `resource.`;
any other attribute equality is a term on `attributes.<key>`, a keyed path of the flat field, where every value is
indexed as text (so 42 matches "42", true matches "true")."""

import base64
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import orjson
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential

from consumer.sinks import engine_reader_facets as browse
from consumer.sinks.base import DeadLetterRecord, IndexReader, SearchQuery, SinkError
from consumer.sinks.browse import FacetCounts, Histogram, TailPage, bucket_starts
from consumer.sinks.engine_client import EngineClient, EngineRequestError
from consumer.sinks.engine_schema import (
    attribute_fields,
    conflicts_index,
    deadletters_index,
    events_pattern,
    from_document,
    resource_fields,
)
from consumer.sinks.engine_settings import EngineSettings
from schemas.timefmt import parse_rfc3339_ns

# A read refused for a while (429 while the node is busy, 503 while a new index's shards are allocated, no answer
# within the request timeout) is asked again for up to this many seconds before the search fails: what a person at
# the console or the terminal would otherwise do by hand. Writes have the worker's own retries.
READ_RETRY_SECONDS = 15.0
READ_RETRY_FIRST = 0.2
READ_RETRY_MOST = 2.0

Answer = TypeVar("Answer")


def read_retrying(call: Callable[[], Answer], seconds: float = READ_RETRY_SECONDS) -> Answer:
    """`call()`, asked again while it fails with a transient EngineRequestError, until `seconds` have passed (then
    the last error is raised), with the sink's retry machinery (tenacity, as consumer.sinks.engine)."""
    for trial in Retrying(stop=stop_after_delay(seconds), wait=wait_exponential(multiplier=READ_RETRY_FIRST,
                          max=READ_RETRY_MOST), retry=retry_if_exception(_transient), reraise=True):
        with trial:
            return call()
    raise AssertionError("tenacity ended its attempts without an outcome")


def _transient(error: BaseException) -> bool:
    return isinstance(error, EngineRequestError) and error.transient


def _any_term(fields: tuple[str, ...], value: str) -> dict[str, Any]:
    if len(fields) == 1:
        return {"term": {fields[0]: value}}
    return {"bool": {"should": [{"term": {f: value}} for f in fields], "minimum_should_match": 1}}


def search_body(query: SearchQuery) -> dict[str, Any]:
    """The engine's search request for `query`."""
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
        filters.append(_any_term(resource_fields("service.name"), query.service))
    if query.host is not None:
        filters.append(_any_term(resource_fields("host.name"), query.host))
    if query.trace_id is not None:
        filters.append({"term": {"trace_id": query.trace_id.lower()}})
    for key, value in query.attributes:
        filters.append(_any_term(attribute_fields(key), value))
    return {
        "query": {"bool": {"must": must or [{"match_all": {}}], "filter": filters}},
        "sort": [{"timestamp": {"order": "desc"}}, {"event_id": {"order": "desc"}}],
        "size": query.limit,
    }


def dead_letter_id(topic: str, partition: int, offset: int) -> str:
    """The `_id` the sink gives a dead letter (consumer.sinks.engine `_write_dead_letters`)."""
    return f"{topic}:{partition}:{offset}"


class EngineReader(IndexReader):
    """Search and totals over <prefix>-events-* and <prefix>-deadletters; Kafka keeps the offsets."""

    def __init__(self, settings: EngineSettings, client: EngineClient) -> None:
        self._client = client
        self._name = client.name
        self._events = events_pattern(settings.index_prefix)
        self._dead = deadletters_index(settings.index_prefix)
        self._conflicts = conflicts_index(settings.index_prefix)

    def _search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        return read_retrying(lambda: self._client.search(index, body))

    def _count(self, index: str) -> int:
        return read_retrying(lambda: self._client.count(index))

    def _get(self, index: str, document_id: str) -> dict[str, Any] | None:
        return read_retrying(lambda: self._client.get(index, document_id))

    def _failed(self, what: str, error: EngineRequestError) -> SinkError:
        return SinkError(f"{what} in {self._name} failed: {error}", retriable=error.transient)

    def search(self, query: SearchQuery) -> list[dict[str, Any]]:
        try:
            response = self._search(self._events, search_body(query))
        except EngineRequestError as error:
            raise self._failed("searching", error) from error
        return [from_document(hit["_source"]) for hit in response["hits"]["hits"]]

    def facets(self, query: SearchQuery, limit: int = 10) -> FacetCounts:
        try:
            response = self._search(self._events, browse.facets_body(search_body(query), limit))
        except EngineRequestError as error:
            raise self._failed("counting facets", error) from error
        return browse.facets_of(response, limit)

    def histogram(self, query: SearchQuery, interval_ns: int) -> Histogram:
        if query.since is None or query.until is None:
            raise ValueError("a histogram needs both ends of its time range")
        since_ns, until_ns = parse_rfc3339_ns(query.since), parse_rfc3339_ns(query.until)
        bucket_starts(since_ns, until_ns, interval_ns)  # refuses too many buckets before asking the engine
        try:
            response = self._search(self._events, browse.histogram_body(search_body(query), interval_ns))
        except EngineRequestError as error:
            raise self._failed("drawing the histogram", error) from error
        return browse.histogram_of_response(response, since_ns, until_ns, interval_ns)

    def tail(self, query: SearchQuery, cursor: str | None) -> TailPage:
        try:
            if cursor is None:
                response = self._search(self._events, browse.END_BODY)
                hits = response["hits"]["hits"]
                return TailPage([], browse.encode_cursor(hits[0]["sort"] if hits else None))
            after = browse.decode_cursor(cursor)
            response = self._search(self._events, browse.tail_body(search_body(query), after, query.limit))
        except EngineRequestError as error:
            raise self._failed("following the index", error) from error
        events = [from_document(hit["_source"]) for hit in response["hits"]["hits"]]
        return browse.tail_page(response, cursor, events)

    def totals(self) -> tuple[int, int]:
        try:
            return self._count(self._events), self._count(self._dead)
        except EngineRequestError as error:
            raise self._failed("counting", error) from error

    def conflicts(self, limit: int) -> tuple[int, list[dict[str, Any]]]:
        try:
            count = self._count(self._conflicts)
            latest = self._search(self._conflicts, {
                "sort": [{"detected_at": {"order": "desc"}}], "size": limit,
                "_source": ["event_id", "detected_at", "kept.topic", "kept.partition", "kept.offset",
                            "rejected.topic", "rejected.partition", "rejected.offset"]})
        except EngineRequestError as error:
            raise self._failed("reading conflicts", error) from error
        rows = []
        for hit in latest["hits"]["hits"]:
            source = hit["_source"]
            rows.append({"event_id": source["event_id"], "detected_at": source["detected_at"],
                         "kept": source.get("kept", {}), "rejected": source.get("rejected", {})})
        return count, rows

    def oldest_timestamp(self) -> str | None:
        # The first hit sorted by timestamp rather than a min aggregation: an aggregation answers in milliseconds
        # (a double), the sorted hit is the stored RFC 3339 string with its nanoseconds. An event without a sortable
        # timestamp (outside date_nanos's range) sorts last and is not the oldest.
        body = {"size": 1, "sort": [{"timestamp": {"order": "asc"}}], "_source": ["timestamp"], "track_total_hits": False}
        try:
            response = self._search(self._events, body)
        except EngineRequestError as error:
            raise self._failed("reading the oldest event", error) from error
        hits = response["hits"]["hits"]
        return str(hits[0]["_source"]["timestamp"]) if hits else None

    def dead_letters(self, limit: int, topic: str | None = None) -> list[DeadLetterRecord]:
        query: dict[str, Any] = {"term": {"topic": topic}} if topic is not None else {"match_all": {}}
        body = {"query": query, "size": limit,
                "sort": [{"received_at": {"order": "desc"}}, {"topic": {"order": "asc"}},
                         {"partition": {"order": "asc"}}, {"offset": {"order": "desc"}}]}
        try:
            response = self._search(self._dead, body)
        except EngineRequestError as error:
            raise self._failed("reading dead letters", error) from error
        return [_dead_letter(hit["_source"]) for hit in response["hits"]["hits"]]

    def dead_letter(self, topic: str, partition: int, offset: int) -> DeadLetterRecord | None:
        try:
            source = self._get(self._dead, dead_letter_id(topic, partition, offset))
        except EngineRequestError as error:
            raise self._failed("reading a dead letter", error) from error
        return _dead_letter(source) if source is not None else None

    def mark_redriven(self, letters: Iterable[DeadLetterRecord]) -> None:
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        lines = []
        for letter in letters:
            lines.append(orjson.dumps({"update": {"_index": self._dead, "_id": dead_letter_id(
                letter.topic, letter.partition, letter.offset)}}))
            lines.append(orjson.dumps({"doc": {"redriven_at": now}}))
        if not lines:
            return
        try:  # refreshed: a `list` right after shows it
            response = self._client.bulk(b"\n".join(lines) + b"\n", refresh=True)
        except EngineRequestError as error:
            raise self._failed("recording the redrive", error) from error
        if response.get("errors"):
            failed = [item for item in response["items"] if item.get("update", {}).get("error")]
            raise SinkError(f"{self._name} refused to record the redrive: {failed[:1]}", retriable=True)

    def close(self) -> None:
        self._client.close()


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
