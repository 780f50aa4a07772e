"""The sink interface: where a batch of events is written, and who keeps the offsets.

A worker drives a sink in this order, from one thread:

    setup()                          once, before consuming (tables, index templates)
    stored_offsets(partitions)       on assignment: where each partition resumes
    add(batch); flush()              per batch; flush() either makes the whole batch durable or raises
    drop(partitions)                 on revoke/loss: forget what is buffered for those partitions
    close()

A flush that fails moves no offset: the worker commits to Kafka only the offsets a successful flush returns
(`FlushResult.durable`), or the partial progress a failed one reports (`SinkError.durable`), and the sink keeps
what it could not write for the next flush().

Offsets live in one of two places:
- `owns_offsets = True` (SQLite): the sink stores each partition's next offset in the same transaction as the
  rows; `stored_offsets` is where consumption resumes, and Kafka commits only serve lag tools.
- `owns_offsets = False` (OpenSearch): writes are idempotent (`_id = event_id`), Kafka's committed offsets are
  where consumption resumes, and the worker commits them after each flush.
"""

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from consumer.config import ConsumerConfig
from consumer.records import Batch, DeadLetter, TopicPartitionKey
from consumer.sinks.browse import FacetCounts, Histogram, TailPage
from logferry.errors import LogferryError

PublishDeadLetters = Callable[[list[DeadLetter]], None]


class SinkError(LogferryError):
    """A flush failed. `durable` holds the per-partition offsets that were nevertheless written."""

    def __init__(self, message: str, *, retriable: bool, durable: dict[TopicPartitionKey, int] | None = None) -> None:
        super().__init__(message)
        self.retriable = retriable
        self.durable = durable or {}


@dataclass
class FlushResult:
    """What a successful flush made durable."""

    # Per partition, the next offset: every record below it is in the index or the dead letters.
    durable: dict[TopicPartitionKey, int] = field(default_factory=dict)
    # Partitions whose stored offset another member moved (compare-and-set failed): their stored offset.
    conflicts: dict[TopicPartitionKey, int] = field(default_factory=dict)
    indexed: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    # Events whose event_id the index already held with different content, recorded as conflicts for the first time
    # (a re-delivered conflict counts as a duplicate). Not part of `indexed` or `duplicates`.
    id_conflicts: int = 0


@dataclass(frozen=True)
class SearchQuery:
    """A search: all words of `text` (empty for any), field filters, newest first.

    Every filter must hold (AND). `attributes` are exact equalities on the event's `attributes` (key as the event
    carries it, e.g. "order_id" or "http.response.status_code"; the value compared as text, so 42 matches "42"),
    `trace_id` is the lower-case hex trace id."""

    text: str = ""
    since: str | None = None  # RFC 3339 with 9 fractional digits, inclusive
    until: str | None = None  # exclusive
    min_severity: int | None = None
    service: str | None = None
    host: str | None = None
    trace_id: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()
    limit: int = 20


@dataclass(frozen=True)
class DeadLetterRecord:
    """One stored dead letter: where the record came from, why it was refused, its raw bytes (possibly cut)."""

    topic: str
    partition: int
    offset: int
    error: str
    size: int
    key: bytes | None
    raw: bytes
    received_at: str
    redriven_at: str | None = None


class Sink(ABC):
    """Writes batches durably. Methods are called from the worker's thread only."""

    owns_offsets: ClassVar[bool]
    # Items the sink sent again after a transient refusal (OpenSearch: 429, 5xx, connection errors), since it opened.
    # Read by the worker between flushes, for the metrics.
    retried_items: int = 0

    @abstractmethod
    def setup(self) -> None:
        """Create what the sink needs (tables, templates); raise SinkError when it cannot be reached."""

    @abstractmethod
    def prepare(self, event: dict[str, Any], raw: bytes) -> Any:
        """The sink's item for one valid event (hot path); raise ValueError/TypeError/KeyError to dead-letter it."""

    def stored_offsets(self, partitions: Iterable[TopicPartitionKey]) -> dict[TopicPartitionKey, int]:
        """Where each partition resumes, for partitions the sink knows; empty when Kafka keeps offsets."""
        return {}

    @abstractmethod
    def add(self, batch: Batch) -> None:
        """Buffer `batch` for the next flush."""

    @abstractmethod
    def flush(self) -> FlushResult:
        """Write everything buffered, or raise SinkError and keep what was not written."""

    @abstractmethod
    def drop(self, partitions: Iterable[TopicPartitionKey]) -> None:
        """Forget buffered records of `partitions`: another member now owns them."""

    @abstractmethod
    def buffered(self) -> int:
        """Records buffered and not yet written."""

    def maintain(self) -> None:
        """Bounded upkeep (retention, space reclaim) while the worker is idle; called on the writer thread, never
        during a flush. Errors are the sink's to log: upkeep never fails the worker."""
        return None

    def close(self) -> None:
        """Release connections."""
        return None


class IndexReader(ABC):
    """The read side of a sink: search, totals, and (for sinks that own offsets) stored offsets."""

    @abstractmethod
    def search(self, query: SearchQuery) -> list[dict[str, Any]]:
        """Events matching `query`, newest first."""

    @abstractmethod
    def totals(self) -> tuple[int, int]:
        """(indexed events, dead letters)."""

    def conflicts(self, limit: int) -> tuple[int, list[dict[str, Any]]]:
        """(conflicts recorded, the `limit` latest of them: event_id, detected_at, kept and rejected sources)."""
        return 0, []

    def oldest_timestamp(self) -> str | None:
        """The timestamp of the oldest event the index keeps (after retention), None when it is empty."""
        return None

    def dead_letters(self, limit: int, topic: str | None = None) -> list[DeadLetterRecord]:
        """The `limit` latest dead letters (of `topic` when given), newest first."""
        return []

    def dead_letter(self, topic: str, partition: int, offset: int) -> DeadLetterRecord | None:
        """One dead letter by its source position, None when there is none."""
        return None

    def mark_redriven(self, letters: Iterable[DeadLetterRecord]) -> None:
        """Record that `letters` were published again to their source topic (deadletters redrive)."""
        return None

    # Browsing (consumer.sinks.browse: the web console, search --follow and --histogram).
    def facets(self, query: SearchQuery, limit: int = 10) -> FacetCounts:
        """Events matching `query` (its `limit` ignored) per level class, and the `limit` most frequent services and
        hosts."""
        raise SinkError(f"{type(self).__name__} cannot count facets", retriable=False)

    def histogram(self, query: SearchQuery, interval_ns: int) -> Histogram:
        """Events matching `query` per epoch-aligned interval of [query.since, query.until) (both required) and
        severity class."""
        raise SinkError(f"{type(self).__name__} cannot draw a histogram", retriable=False)

    def tail(self, query: SearchQuery, cursor: str | None) -> TailPage:
        """At most `query.limit` events matching `query` that arrived after `cursor`, oldest first; `cursor` None
        gives no events and the cursor of the index's current end."""
        raise SinkError(f"{type(self).__name__} cannot follow the index", retriable=False)

    def last_write(self) -> str | None:
        """When the sink last made a batch durable (RFC 3339), None when the reader cannot tell."""
        return None

    def stored_offsets(self) -> dict[TopicPartitionKey, int] | None:
        """Every stored (topic, partition) -> next offset; None when the sink keeps no offsets."""
        return None

    def set_offsets(self, offsets: dict[TopicPartitionKey, int]) -> None:
        """Overwrite stored offsets (replay); a no-op for sinks that keep none."""
        return None

    def close(self) -> None:
        """Release connections."""
        return None


SinkFactory = Callable[[ConsumerConfig, PublishDeadLetters], Sink]
ReaderFactory = Callable[[ConsumerConfig], IndexReader]
