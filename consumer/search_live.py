"""`search --follow` (the terminal's live tail) and `search --histogram` (counts per interval as a text bar chart),
with the filters of `search` (consumer/query.py).

--follow prints the newest matches (up to --limit, oldest first), then every new matching event as the index gets it,
polling the reader's tail cursor (consumer.sinks.browse) every FOLLOW_POLL_S, until Ctrl-C or SIGTERM (exit 0).
--histogram counts over --since..--until (default: the last 24 hours) in bars of --interval (default: about 30 bars);
each line is the bucket's start, a bar scaled to the largest bucket, the count, and the count of warn-or-worse.
"""

import argparse
import signal
import sys
import threading
import time
from dataclasses import replace
from types import FrameType
from typing import TextIO

import orjson

from consumer.config import ConsumerConfig
from consumer.search import build_queries, format_line, search_all
from consumer.sinks.base import SearchQuery
from consumer.sinks.browse import Histogram, SeverityClass, pick_interval
from consumer.sinks.registry import open_reader
from consumer.sinks.sqlite_rows import timestamp_ns
from logferry.durations import parse_duration
from schemas.timefmt import format_ns

FOLLOW_POLL_S = 0.5
TAIL_PAGE = 500  # events per tail read
BAR_WIDTH = 50
HISTOGRAM_BARS = 30
_NS = 1_000_000_000
_SEVERE = (SeverityClass.WARN, SeverityClass.ERROR, SeverityClass.FATAL)


def run_live(config: ConsumerConfig, args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    if args.follow and args.histogram:
        raise ValueError("--follow and --histogram cannot be used together")
    if args.interval is not None and not args.histogram:
        raise ValueError("--interval only applies with --histogram")
    queries = build_queries(args)
    if args.histogram:
        return print_histogram(config, queries[-1], args.interval, args.json, out)
    return follow(config, queries, args.json, out)


def print_histogram(config: ConsumerConfig, query: SearchQuery, interval_text: str | None, as_json: bool,
                    out: TextIO) -> int:
    until_ns = timestamp_ns(query.until) if query.until is not None else time.time_ns()
    since_ns = timestamp_ns(query.since) if query.since is not None else until_ns - 24 * 3600 * _NS
    if since_ns >= until_ns:
        raise ValueError("--since must be before --until")
    if interval_text is not None:
        seconds = parse_duration(interval_text)
        if seconds <= 0:
            raise ValueError("--interval must be a positive duration such as 5m")
        interval = int(seconds * _NS)
    else:
        interval = pick_interval(until_ns - since_ns, HISTOGRAM_BARS)
    reader = open_reader(config)
    try:
        histogram = reader.histogram(replace(query, since=format_ns(since_ns), until=format_ns(until_ns)), interval)
    finally:
        reader.close()
    if as_json:
        out.write(orjson.dumps(histogram.as_json()).decode() + "\n")
    else:
        out.write(format_histogram(histogram))
    return 0


def format_histogram(histogram: Histogram, width: int = BAR_WIDTH) -> str:
    """The histogram as lines `start  bar  count  (N warn+)`, then the total."""
    peak = max((b.total for b in histogram.buckets), default=0)
    lines = []
    for bucket in histogram.buckets:
        total = bucket.total
        length = 0 if not peak else max(1 if total else 0, round(total * width / peak))
        severe = sum(bucket.counts.get(c, 0) for c in _SEVERE)
        note = f"  ({severe} warn+)" if severe else ""
        lines.append(f"{format_ns(bucket.start_ns)[:19]}Z {'#' * length:<{width}} {total:>9}{note}")
    seconds = histogram.interval_ns / _NS
    lines.append(f"{histogram.total} event(s) in {len(histogram.buckets)} interval(s) of {seconds:g} s")
    return "\n".join(lines) + "\n"


def follow(config: ConsumerConfig, queries: tuple[SearchQuery, ...], as_json: bool, out: TextIO,
           stop: threading.Event | None = None) -> int:
    stopping = stop or threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, request_stop)
    query = replace(queries[-1], since=None, until=None, limit=TAIL_PAGE)

    def write(events: list[dict[str, object]]) -> None:
        for event in events:
            out.write((orjson.dumps(event).decode() if as_json else format_line(event)) + "\n")
        out.flush()

    reader = open_reader(config)
    try:
        cursor = reader.tail(query, None).cursor  # before the first page: nothing indexed in between is missed
        first = list(reversed(search_all(reader, queries)))
        write(first)
        shown = {str(e.get("event_id")) for e in first}  # indexed after the cursor yet already on the first page
        while not stopping.is_set():
            page = reader.tail(query, cursor)
            cursor = page.cursor
            events = page.events
            if shown:
                events = [e for e in events if str(e.get("event_id")) not in shown]
                if not page.events:
                    shown.clear()  # caught up: nothing older than the first page can come back
            write(events)
            if len(page.events) < query.limit:
                stopping.wait(FOLLOW_POLL_S)
    except KeyboardInterrupt:
        pass
    finally:
        reader.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0
