"""Request parameters to searches, with the CLI's language (consumer.query) and its errors.

    q          the search text: words and field:value terms, as `consumer search` takes them
    level, service, host, trace_id   the page's filter chips (must agree with the same fields in `q`)
    since, until   nanoseconds since the epoch, RFC 3339, or a duration back from now (15m); until defaults to now
    limit      events per page (1-500)
    before     the result page cursor `<timestamp ns>:<events at that timestamp already shown>`
    interval   the histogram's interval (a duration such as 5m); default: about 60 buckets over the range
"""

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace

from consumer.query import alternatives, build_search, tokenize
from consumer.sinks.base import SearchQuery
from consumer.sinks.browse import pick_interval
from consumer.timeargs import parse_time_ns
from logferry.durations import parse_duration
from schemas.timefmt import format_ns

MAX_LIMIT = 500
DEFAULT_LIMIT = 100
_NS = 1_000_000_000


@dataclass(frozen=True)
class PageCursor:
    """Where the next (older) result page starts: before `timestamp_ns`, plus the `skip` events stamped exactly
    `timestamp_ns` that the previous pages showed (equal timestamps are ordered the same way every time)."""

    timestamp_ns: int
    skip: int

    def text(self) -> str:
        return f"{self.timestamp_ns}:{self.skip}"

    @staticmethod
    def parse(text: str) -> "PageCursor":
        stamp, colon, skip = text.partition(":")
        if not colon or not stamp.lstrip("-").isdigit() or not skip.isdigit():
            raise ValueError(f"{text!r} is not a result page cursor")
        return PageCursor(int(stamp), int(skip))


def _time(value: str, now_ns: int) -> int:
    text = value.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    return parse_time_ns(text, now_ns)


def _option(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name, "").strip()
    return value or None


@dataclass(frozen=True)
class Request:
    """A request's searches (the union answers it; see consumer.query.alternatives) and its time range."""

    queries: tuple[SearchQuery, ...]
    since_ns: int | None
    until_ns: int

    @property
    def counting(self) -> SearchQuery:
        """The reading facets, histogram and tail use: with a bare 32-hex word, the trace id one (pasted ids are
        rarely in the text)."""
        return self.queries[-1]


def parse_request(params: Mapping[str, str], *, now_ns: int | None = None) -> Request:
    """The searches of a request; ValueError (QuerySyntaxError) with a sentence when a parameter is wrong."""
    now = time.time_ns() if now_ns is None else now_ns
    since = _option(params, "since")
    until = _option(params, "until")
    since_ns = _time(since, now) if since is not None else None
    until_ns = _time(until, now) if until is not None else now
    if since_ns is not None and since_ns >= until_ns:
        raise ValueError("since must be before until")
    limit_text = _option(params, "limit")
    limit = DEFAULT_LIMIT if limit_text is None else int(limit_text) if limit_text.isdigit() else -1
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be a number from 1 to {MAX_LIMIT}")
    terms = tokenize(params.get("q", ""))
    query = build_search(
        terms, level=_option(params, "level"), service=_option(params, "service"), host=_option(params, "host"),
        trace=_option(params, "trace_id"), since=format_ns(since_ns) if since_ns is not None else None,
        until=format_ns(until_ns), limit=limit,
    )
    return Request(alternatives(query, terms), since_ns, until_ns)


def page_queries(request: Request, cursor: PageCursor | None) -> tuple[SearchQuery, ...]:
    """The searches of the page after `cursor`: up to and including its timestamp, `skip` more events asked for."""
    if cursor is None:
        return request.queries
    until = min(request.until_ns, cursor.timestamp_ns + 1)
    return tuple(replace(q, until=format_ns(until), limit=q.limit + cursor.skip) for q in request.queries)


def histogram_interval(params: Mapping[str, str], since_ns: int, until_ns: int) -> int:
    text = _option(params, "interval")
    if text is None:
        return pick_interval(until_ns - since_ns)
    seconds = parse_duration(text)
    if seconds <= 0:
        raise ValueError("interval must be a positive duration such as 1m")
    return int(seconds * _NS)
