"""Browsing a search-engine index (OpenSearch, Elasticsearch): facet counts, the histogram and the tail as engine
requests and their answers (consumer.sinks.browse), with the definitions the SQLite reader uses.

- facets: a `range` aggregation of `severity_number` by class, and `terms` of `service.name` / `host.name` with a
  `missing` count beside each (an event without one counts under None). Indices made before TEMPLATE_VERSION 2 keep
  service and host inside the flat `resource` field, which the terms cannot aggregate: their events count as
  missing a service and a host (search filters still find them).
- histogram: a `date_histogram` on `timestamp` with a fixed interval (the engine aligns buckets on the epoch, as the
  SQLite reader does; keys are in milliseconds, so the interval must be a whole number of them) and the same severity
  ranges inside each bucket.
- tail: the events after the cursor in (timestamp, event_id) order, `search_after` the cursor's sort values; the
  cursor is those values as base64url JSON. An event stamped earlier than the cursor that is indexed later (a host
  catching up on old lines) is not shown by the tail: the engine has no arrival order to follow.
"""

import base64
from typing import Any

import orjson

from consumer.sinks.browse import (
    CLASSES,
    FacetCounts,
    Histogram,
    SeverityClass,
    TailPage,
    histogram_of,
)

_NS_PER_MS = 1_000_000
_RESOURCE = {"services": "service.name", "hosts": "host.name"}


def _level_ranges() -> dict[str, Any]:
    ranges: list[dict[str, Any]] = []
    for number, cls in enumerate(CLASSES):
        if cls is SeverityClass.UNSPECIFIED:
            ranges.append({"key": cls.value, "to": 1})
        elif number == len(CLASSES) - 1:
            ranges.append({"key": cls.value, "from": cls.lowest})
        else:
            ranges.append({"key": cls.value, "from": cls.lowest, "to": cls.lowest + 4})
    return {"range": {"field": "severity_number", "ranges": ranges}}


def _levels(aggregation: dict[str, Any]) -> dict[SeverityClass, int]:
    return {SeverityClass(b["key"]): int(b["doc_count"]) for b in aggregation["buckets"] if b["doc_count"]}


def facets_body(query_body: dict[str, Any], limit: int) -> dict[str, Any]:
    aggs: dict[str, Any] = {"levels": _level_ranges()}
    for name, field in _RESOURCE.items():
        aggs[name] = {"terms": {"field": field, "size": limit}}
        aggs[name + "_missing"] = {"missing": {"field": field}}
    return {"query": query_body["query"], "size": 0, "track_total_hits": True, "aggs": aggs}


def facets_of(response: dict[str, Any], limit: int) -> FacetCounts:
    aggs = response["aggregations"]
    tops: dict[str, list[tuple[str | None, int]]] = {}
    for name in _RESOURCE:
        values: list[tuple[str | None, int]] = [(str(b["key"]), int(b["doc_count"])) for b in aggs[name]["buckets"]]
        missing = int(aggs[name + "_missing"]["doc_count"])
        if missing:
            values.append((None, missing))
        tops[name] = sorted(values, key=lambda item: (-item[1], item[0] or ""))[:limit]
    levels = _levels(aggs["levels"])
    return FacetCounts(sum(levels.values()), levels, tops["services"], tops["hosts"])


def histogram_body(query_body: dict[str, Any], interval_ns: int) -> dict[str, Any]:
    if interval_ns % _NS_PER_MS:
        raise ValueError("a search engine's histogram interval must be a whole number of milliseconds")
    return {
        "query": query_body["query"], "size": 0, "track_total_hits": False,
        "aggs": {"buckets": {
            "date_histogram": {"field": "timestamp", "fixed_interval": f"{interval_ns // _NS_PER_MS}ms", "min_doc_count": 1},
            "aggs": {"levels": _level_ranges()},
        }},
    }


def histogram_of_response(response: dict[str, Any], since_ns: int, until_ns: int, interval_ns: int) -> Histogram:
    counts: dict[tuple[int, SeverityClass], int] = {}
    for bucket in response["aggregations"]["buckets"]["buckets"]:
        start = int(bucket["key"]) * _NS_PER_MS
        for cls, number in _levels(bucket["levels"]).items():
            counts[(start, cls)] = counts.get((start, cls), 0) + number
    return histogram_of(since_ns, until_ns, interval_ns, counts)


def tail_body(query_body: dict[str, Any], after: list[Any] | None, limit: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "query": query_body["query"], "size": limit, "track_total_hits": False,
        "sort": [{"timestamp": {"order": "asc"}}, {"event_id": {"order": "asc"}}],
    }
    if after is not None:
        body["search_after"] = after
    return body


END_BODY = {"size": 1, "_source": False, "track_total_hits": False,
            "sort": [{"timestamp": {"order": "desc"}}, {"event_id": {"order": "desc"}}]}


def encode_cursor(values: list[Any] | None) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any] | None:
    """The sort values of an engine tail cursor; ValueError for anything else."""
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise ValueError(f"{cursor!r} is not a tail cursor of this index") from None
    if values is not None and not (isinstance(values, list) and len(values) == 2):
        raise ValueError(f"{cursor!r} is not a tail cursor of this index")
    return values


def tail_page(response: dict[str, Any], cursor: str, events: list[dict[str, Any]]) -> TailPage:
    hits = response["hits"]["hits"]
    return TailPage(events, encode_cursor(hits[-1]["sort"]) if hits else cursor)
