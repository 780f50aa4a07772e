"""The seam between reading files and parsing them.

The harvester turns bytes on disk into RawRecords (complete lines, terminator and CR stripped, still in
the file's encoding). A StreamParser (shipper.parsers.pipeline) turns them into serialised unified events.
Offsets are byte offsets in the file; an event's offset is the offset of its first line.
"""

from dataclasses import dataclass, field
from typing import Any, NamedTuple


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


EVENT_ID_FIRST = b'{"event_id":"'
"""How the value of every EncodedEvent the pipeline makes begins: the 32-character event id follows, so the producer
slices its Kafka header from bytes 13-45 instead of formatting the id a second time."""


class EncodedEvent(NamedTuple):
    """One serialised event, ready to produce."""

    offset: int
    """The offset of the event's first line; the event id is stream id + this offset."""
    end: int
    """The `end` of the event's last line: the checkpoint may move here once this event is acknowledged."""
    value: bytes
    """The event as JSON bytes."""


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
