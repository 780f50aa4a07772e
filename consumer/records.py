"""Kafka records in, index items or dead letters out: the per-event hot path of the worker.

A record becomes a dead letter when it is larger than the limit, is not JSON, or is not a unified event
(`schemas.validate.check_event`), when per-host isolation is on and its `resource["host.id"]` is not the host its
topic belongs to (`topic_host`), or when the sink cannot prepare it. Nothing is dropped: every record
consumed either becomes an item of the batch or a dead letter of the batch, and moves the partition's
next offset.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from schemas.validate import check_event

TopicPartitionKey = tuple[str, int]
# Builds the sink's item (a row, a bulk line...) from a valid event and its raw bytes; raises on data it cannot take.
Prepare = Callable[[dict[str, Any], bytes], Any]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record the index cannot take, with where it came from and why."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    raw: bytes
    error: str
    size: int


@dataclass(slots=True)
class Batch:
    """What one write to the sink carries: items, where each came from, dead letters, next offsets."""

    items: list[Any] = field(default_factory=list)
    # (topic, partition, offset) of each item, parallel to `items`.
    sources: list[tuple[str, int, int]] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    # Per partition, the offset after the last record consumed into this batch.
    next_offsets: dict[TopicPartitionKey, int] = field(default_factory=dict)
    size_bytes: int = 0
    consumed: int = 0

    def __len__(self) -> int:
        return len(self.items) + len(self.dead_letters)

    def extend(self, other: "Batch") -> None:
        self.items.extend(other.items)
        self.sources.extend(other.sources)
        self.dead_letters.extend(other.dead_letters)
        self.next_offsets.update(other.next_offsets)
        self.size_bytes += other.size_bytes
        self.consumed += other.consumed

    def without(self, partitions: Iterable[TopicPartitionKey]) -> "Batch":
        """A copy without the records of `partitions` (revoked, lost or taken over)."""
        gone = set(partitions)
        if not gone.intersection(self.next_offsets):
            return self
        kept = Batch()
        for item, source in zip(self.items, self.sources, strict=True):
            if (source[0], source[1]) not in gone:
                kept.items.append(item)
                kept.sources.append(source)
        kept.dead_letters = [d for d in self.dead_letters if (d.topic, d.partition) not in gone]
        kept.next_offsets = {tp: o for tp, o in self.next_offsets.items() if tp not in gone}
        kept.size_bytes = self.size_bytes  # an upper bound: only used to decide when a batch is full
        kept.consumed = len(kept.items) + len(kept.dead_letters)
        return kept


# The host id a topic belongs to under per-host isolation (None: the topic belongs to no host).
TopicHost = Callable[[str], "str | None"]


def decode_into(batch: Batch, messages: list[Any], prepare: Prepare, max_record_bytes: int, raw_limit: int,
                *, topic_host: TopicHost | None = None) -> list[Any]:
    """Add each Kafka message of `messages` to `batch`; returns the messages that carried a client error.

    With `topic_host` (per-host isolation), an event must carry the host id of its topic."""
    loads = orjson.loads
    items_append = batch.items.append
    sources_append = batch.sources.append
    next_offsets = batch.next_offsets
    errors: list[Any] = []
    size = 0
    # A consume() call returns runs of one partition: the (topic, partition) key and the topic string are made once per
    # run, so the offsets dict finds its key by identity and every source shares one topic object.
    topic = ""
    partition = -1
    key: TopicPartitionKey = (topic, partition)
    host: str | None = None
    for message in messages:
        if message.error() is not None:
            errors.append(message)
            continue
        offset = message.offset()
        if message.partition() != partition or message.topic() != topic:
            topic = message.topic()
            partition = message.partition()
            key = (topic, partition)
            if topic_host is not None:
                host = topic_host(topic)
        next_offsets[key] = offset + 1
        raw = message.value()
        if raw is None:
            _dead(batch, message, b"", "the record has no value (a tombstone)", raw_limit)
            continue
        length = len(raw)
        size += length
        if length > max_record_bytes:
            _dead(batch, message, raw, f"the record is {length} bytes, more than max_record_bytes {max_record_bytes}", raw_limit)
            continue
        try:
            event = loads(raw)
        except orjson.JSONDecodeError as error:
            _dead(batch, message, raw, f"the record is not valid JSON: {error}", raw_limit)
            continue
        problem = check_event(event)
        if problem is not None:
            _dead(batch, message, raw, f"the record is not a unified event: {problem}", raw_limit)
            continue
        if topic_host is not None:
            claimed = event["resource"].get("host.id")
            if claimed != host or host is None:
                _dead(batch, message, raw, _foreign(topic, host, claimed), raw_limit)
                continue
        try:
            item = prepare(event, raw)
        except (KeyError, TypeError, ValueError) as error:
            _dead(batch, message, raw, f"the event cannot be indexed: {error!r}", raw_limit)
            continue
        items_append(item)
        sources_append((topic, partition, offset))
    batch.size_bytes += size
    batch.consumed += len(messages) - len(errors)
    return errors


def _foreign(topic: str, host: str | None, claimed: Any) -> str:
    if host is None:
        return f"per-host isolation: the topic {topic} belongs to no host (it lacks the host topic prefix)"
    return f"per-host isolation: the event's host.id {claimed!r} is not {host!r}, the host of its topic {topic}"


def _dead(batch: Batch, message: Any, raw: bytes, error: str, raw_limit: int) -> None:
    batch.dead_letters.append(
        DeadLetter(
            topic=message.topic(), partition=message.partition(), offset=message.offset(), key=message.key(),
            raw=raw[:raw_limit], error=error, size=len(raw),
        )
    )
