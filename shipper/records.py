"""The seam between reading files and parsing them.

The harvester turns bytes on disk into RawRecords (complete lines, terminator and CR stripped, still in
the file's encoding). A StreamParser (shipper.parsers.pipeline) turns them into serialised unified events
(EncodedEvents, from shipper.parsers.encoder), which the producer (shipper.delivery) sends as they are.
Offsets are byte offsets in the file; an event's offset is the offset of its first line.
"""

from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple


class RawRecord(NamedTuple):
    """One line of a file: where it starts, where the next one starts, and its bytes."""

    offset: int
    """Byte offset of the line's first byte (after any BOM)."""
    end: int
    """Byte offset just after the line's terminator: where reading resumes once this line is delivered."""
    data: bytes
    """The line without its terminator and without the CR before LF, in the file's encoding."""
    truncated: bool = False
    """The line was longer than max_line_bytes and `data` holds only its beginning."""


RecordFields = tuple[int, int, bytes, bool]
"""A RawRecord, or a plain tuple of its four fields in its order: framing builds plain tuples on the hot path, since
creating a NamedTuple instance costs about four times as much as a tuple (~3% of a shipped line's instructions).
Code that wants the field names makes a RawRecord of it."""


# The Kafka message of an EncodedEvent (shipper.parsers.encoder documents the whole shape): the stream id as key, the
# value, and these headers. Here rather than in the encoder because the producer, compiled in another mypyc group, must
# not read a compiled parsers module's constants: with the parsers run from source (LOGFERRY_PURE_PYTHON=1) they would
# not be set.
KAFKA_HEADER_SCHEMA_VERSION: Final = "schema_version"
KAFKA_HEADER_EVENT_ID: Final = "event_id"
KAFKA_SCHEMA_VERSION: Final = b"1"
"""The `schema_version` header's value: schemas.event.SCHEMA_VERSION as text (readable without parsing the value)."""


class EncodedEvent(NamedTuple):
    """One serialised event, ready to produce (made by shipper.parsers.encoder, which owns its shape)."""

    offset: int
    """The offset of the event's first line; the event id is stream id + this offset."""
    end: int
    """The `end` of the event's last line: the checkpoint may move here once this event is acknowledged."""
    value: bytes
    """The event as JSON bytes."""
    event_id: bytes
    """The event's id (schemas.ids.event_id) as ASCII: its Kafka `event_id` header, so the producer never reads `value`."""


@dataclass
class StreamContext:
    """What a parser needs to know about the file a record came from. One per file stream."""

    input_id: str
    stream_id: str
    """16 hex digits from schemas.ids.stream_id(host id, file identity, generation)."""
    path: str
    encoding: str
    """The resolved codec name: utf-8, utf-16-le, utf-16-be, latin-1 or cp1252 (a BOM was already consumed); never
    `auto`: configured, recorded with the checkpoint or detected from the head (shipper.harvest.encodings)."""
    resource: dict[str, Any]
    """service.name, host.name, host.id and any static resource fields."""
    fields: dict[str, Any] = field(default_factory=dict)
    """Static attributes from the input's config, added to every event."""
