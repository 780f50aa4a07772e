"""`search`: full text plus field filters over either sink, newest first."""

import argparse
import sys
from typing import Any, TextIO

import orjson

from consumer.config import ConsumerConfig
from consumer.sinks.base import SearchQuery
from consumer.sinks.registry import open_reader
from consumer.timeargs import time_text
from schemas.severity import severity_from_text

_SHORT = {1: "TRACE", 5: "DEBUG", 9: "INFO", 13: "WARN", 17: "ERROR", 21: "FATAL"}


def level_number(text: str) -> int:
    """The lowest severity number of level `text` (a word such as warn, or a number 0-24); ValueError otherwise."""
    if text.isdigit() and 0 <= int(text) <= 24:
        return int(text)
    number = severity_from_text(text)
    if number == 0:
        raise ValueError(f"{text!r} is not a level such as debug, info, warn, error or fatal")
    # The bottom of the word's OTel range: "error" covers 17-20, "warn" 13-16.
    return ((number - 1) // 4) * 4 + 1


def build_query(args: argparse.Namespace) -> SearchQuery:
    """The SearchQuery for parsed `search` arguments; ValueError with a sentence when one is wrong."""
    if args.limit < 1:
        raise ValueError("--limit must be at least 1")
    return SearchQuery(
        text=" ".join(args.query),
        since=time_text(args.since) if args.since else None,
        until=time_text(args.until) if args.until else None,
        min_severity=level_number(args.level) if args.level else None,
        service=args.service,
        host=args.host,
        limit=args.limit,
    )


def format_line(event: dict[str, Any]) -> str:
    """One event as a line for people: time, level, service, host, body."""
    number = event.get("severity_number") or 0
    level = event.get("severity_text") or (_SHORT.get(((number - 1) // 4) * 4 + 1, "-") if number else "-")
    resource = event.get("resource") or {}
    body = event.get("body")
    text = body if isinstance(body, str) else orjson.dumps(body).decode()
    service, host = resource.get("service.name", "-"), resource.get("host.name", "-")
    return f"{event.get('timestamp')} {str(level).upper():<5} {service} {host}: {text}"


def run_search(config: ConsumerConfig, query: SearchQuery, as_json: bool, out: TextIO = sys.stdout) -> int:
    reader = open_reader(config)
    try:
        events = reader.search(query)
    finally:
        reader.close()
    for event in events:
        if as_json:
            out.write(orjson.dumps(event).decode() + "\n")
        else:
            out.write(format_line(event) + "\n")
    return 0
