"""What the browsing side of a reader answers (the web console, `search --follow` and `search --histogram`): facet
counts, a histogram stacked by severity class, and pages of events newer than a tail cursor.

Every reader computes these with the same definitions, so the SQLite and the search-engine answers agree:
- a severity class is the OTel range of the severity number (TRACE 1-4 ... FATAL 21-24, UNSPECIFIED 0);
- histogram buckets are aligned on the epoch (a bucket starts at a multiple of the interval, in nanoseconds) and
  cover [since, until): the first and last may be cut by the range, and every bucket of the range is listed, empty
  ones too;
- a tail cursor is opaque text that only the reader that made it reads; `None` asks for the current end (no events,
  just the cursor to follow from).
"""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

_NS = 1_000_000_000


class SeverityClass(StrEnum):
    """The OTel severity range of an event, as the facets and the histogram count it."""

    UNSPECIFIED = "unspecified"
    TRACE = "trace"
    DEBUG = "debug"
    INFO = "info"
    WARN = "warn"
    ERROR = "error"
    FATAL = "fatal"

    @property
    def lowest(self) -> int:
        """The lowest severity number of the class (0 for UNSPECIFIED)."""
        return CLASSES.index(self) * 4 - 3 if self is not SeverityClass.UNSPECIFIED else 0


CLASSES: tuple[SeverityClass, ...] = tuple(SeverityClass)


def severity_class(number: int) -> SeverityClass:
    """The class of a severity number (0-24); out-of-range numbers are UNSPECIFIED."""
    if not 1 <= number <= 24:
        return SeverityClass.UNSPECIFIED
    return CLASSES[(number - 1) // 4 + 1]


class FacetField(StrEnum):
    """The fields the facets count."""

    LEVEL = "level"
    SERVICE = "service"
    HOST = "host"


@dataclass(frozen=True)
class FacetCounts:
    """Events matching a query, per level class and for the most frequent services and hosts.

    `services` and `hosts` are (value, count) newest-first by count, at most the limit asked for; an event without
    a service or host is counted under None. `complete` is False when the reader counted only a bounded part of the
    candidates (SQLite with attribute filters: ATTRIBUTE_SCAN_LIMIT events walked newest first)."""

    total: int
    levels: dict[SeverityClass, int]
    services: list[tuple[str | None, int]]
    hosts: list[tuple[str | None, int]]
    complete: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "total": self.total, "complete": self.complete,
            "level": [{"value": c.value, "count": self.levels.get(c, 0)} for c in CLASSES if self.levels.get(c, 0)],
            "service": [{"value": v, "count": n} for v, n in self.services],
            "host": [{"value": v, "count": n} for v, n in self.hosts],
        }


@dataclass(frozen=True)
class HistogramBucket:
    """Events of one interval, per severity class (classes without events are left out)."""

    start_ns: int
    counts: dict[SeverityClass, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Histogram:
    """Counts per interval over [since_ns, until_ns), every bucket listed, oldest first."""

    since_ns: int
    until_ns: int
    interval_ns: int
    buckets: list[HistogramBucket]
    complete: bool = True

    @property
    def total(self) -> int:
        return sum(b.total for b in self.buckets)

    def as_json(self) -> dict[str, Any]:
        return {
            "since_ns": self.since_ns, "until_ns": self.until_ns, "interval_ns": self.interval_ns,
            "complete": self.complete, "total": self.total,
            "buckets": [{"start_ns": b.start_ns, "total": b.total,
                         "counts": {c.value: b.counts[c] for c in CLASSES if b.counts.get(c)}} for b in self.buckets],
        }


@dataclass(frozen=True)
class TailPage:
    """Events newer than a cursor, oldest first, and the cursor to ask with next time."""

    events: list[dict[str, Any]]
    cursor: str


# Intervals a histogram may use, from one second to 365 days: round numbers people read at a glance.
NICE_INTERVALS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 604800,
                    2_592_000, 31_536_000)
MAX_BUCKETS = 1_000  # an interval asked for that would make more is refused (bounded answers)


def pick_interval(span_ns: int, target_buckets: int = 60) -> int:
    """The smallest nice interval (ns) that covers `span_ns` in at most `target_buckets` buckets."""
    for seconds in NICE_INTERVALS_S:
        if seconds * _NS * target_buckets >= span_ns:
            return seconds * _NS
    return NICE_INTERVALS_S[-1] * _NS


def bucket_starts(since_ns: int, until_ns: int, interval_ns: int) -> list[int]:
    """The epoch-aligned bucket starts covering [since_ns, until_ns)."""
    if interval_ns <= 0:
        raise ValueError("the histogram interval must be positive")
    if until_ns <= since_ns:
        return []
    first = since_ns - since_ns % interval_ns
    count = -(-(until_ns - first) // interval_ns)
    if count > MAX_BUCKETS:
        raise ValueError(f"the histogram would have {count} buckets (at most {MAX_BUCKETS}): choose a longer interval")
    return [first + i * interval_ns for i in range(count)]


def histogram_of(since_ns: int, until_ns: int, interval_ns: int, counts: dict[tuple[int, SeverityClass], int],
                 *, complete: bool = True) -> Histogram:
    """The Histogram of per (bucket start, class) counts, with every bucket of the range."""
    buckets = []
    for start in bucket_starts(since_ns, until_ns, interval_ns):
        found = {c: counts[(start, c)] for c in CLASSES if counts.get((start, c))}
        buckets.append(HistogramBucket(start, found))
    return Histogram(since_ns, until_ns, interval_ns, buckets, complete)
