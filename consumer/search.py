"""`search`: full text plus field filters over either sink, newest first (the language: consumer/query.py).

When nothing matched, one line on stderr says so and the exit code is still 0: an empty answer is an answer (exit 1
means the search could not be done, as for every command), and stdout stays empty, so `--json | jq` sees no events.
"""

import argparse
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import orjson

from consumer.config import ConsumerConfig
from consumer.query import alternatives, attribute_option, build_search, job_filters, level_number, tokenize
from consumer.sinks.base import IndexReader, SearchQuery
from consumer.sinks.registry import open_reader
from consumer.timeargs import time_text

__all__ = ["NO_MATCH", "build_queries", "format_line", "level_number", "run_search", "search_all"]

_SHORT = {1: "TRACE", 5: "DEBUG", 9: "INFO", 13: "WARN", 17: "ERROR", 21: "FATAL"}
NO_MATCH = "No events matched."


def build_queries(args: argparse.Namespace) -> tuple[SearchQuery, ...]:
    """The searches whose union answers the parsed `search` arguments; ValueError with a sentence when one is wrong."""
    if args.limit < 1:
        raise ValueError("--limit must be at least 1")
    terms = tokenize(" ".join(args.query))
    query = build_search(
        terms, level=args.level, service=args.service, host=args.host, trace=args.trace_id,
        attributes=[*(attribute_option(a) for a in args.attr or ()), *job_filters(args)],
        since=time_text(args.since) if args.since else None, until=time_text(args.until) if args.until else None,
        limit=args.limit,
    )
    return alternatives(query, terms)


def search_all(reader: IndexReader, queries: Sequence[SearchQuery]) -> list[dict[str, Any]]:
    """The union of the queries' results, newest first, each event once, at most the first query's limit.

    Exact: each result list holds its query's `limit` newest, so the union's `limit` newest are among them."""
    if len(queries) == 1:
        return reader.search(queries[0])
    seen: set[str] = set()
    merged: list[dict[str, Any]] = []
    for events in (reader.search(q) for q in queries):
        for event in events:
            key = str(event.get("event_id"))
            if key not in seen:
                seen.add(key)
                merged.append(event)
    merged.sort(key=lambda e: (str(e.get("timestamp")), str(e.get("event_id"))), reverse=True)
    return merged[: queries[0].limit]


def format_line(event: dict[str, Any]) -> str:
    """One event as a line for people: time, level, service, host, body."""
    number = event.get("severity_number") or 0
    level = event.get("severity_text") or (_SHORT.get(((number - 1) // 4) * 4 + 1, "-") if number else "-")
    resource = event.get("resource") or {}
    body = event.get("body")
    text = body if isinstance(body, str) else orjson.dumps(body).decode()
    service, host = resource.get("service.name", "-"), resource.get("host.name", "-")
    return f"{event.get('timestamp')} {str(level).upper():<5} {service} {host}: {text}"


def run_search(config: ConsumerConfig, queries: Sequence[SearchQuery], as_json: bool, out: TextIO = sys.stdout,
               err: TextIO = sys.stderr) -> int:
    reader = open_reader(config)
    try:
        events = search_all(reader, queries)
    finally:
        reader.close()
    for event in events:
        if as_json:
            out.write(orjson.dumps(event).decode() + "\n")
        else:
            out.write(format_line(event) + "\n")
    if not events:
        err.write(NO_MATCH + "\n")
    return 0
