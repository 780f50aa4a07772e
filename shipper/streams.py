"""A stream: one file's bytes under one identity and generation, with its parser and acknowledgement tracker.

A stream outlives its open handle while events are in flight, so a file closed and opened again (idle, slots,
a rename) continues where reading stopped instead of sending the same lines twice. Where reading continues is
the stream's `Cursor`, which the harvester reading it moves (one object, never copied).
"""

import enum
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from schemas.ids import stream_id as make_stream_id
from shipper.checkpoint import Checkpoint
from shipper.config import InputSettings
from shipper.delivery.acks import AckTracker
from shipper.harvest.cursor import Cursor
from shipper.identity import FileKey
from shipper.records import EncodedEvent, RecordFields

if TYPE_CHECKING:
    from shipper.processing.pipeline import EventChain


class Parsing(Protocol):
    """What the harvester calls (shipper.parsers.pipeline.StreamParser, or shipper.processing.filter.FilteredParser
    around one when its input filters lines)."""

    def feed(self, records: Sequence[RecordFields], observed_ns: int) -> list[EncodedEvent]: ...

    def flush(self, observed_ns: int, *, force: bool) -> list[EncodedEvent]: ...

    def held_from(self) -> int | None: ...


class StartReason(enum.Enum):
    """Why a stream starts where it does."""

    NEW = "new"
    RESUMED = "resumed"
    REPLACED = "replaced"
    TRUNCATED = "truncated"
    MARKER_MISMATCH = "marker mismatch"
    COPY = "copy"
    """A copy of a truncated file continues that file's stream from its checkpoint."""


@dataclass(frozen=True)
class Start:
    generation: int
    offset: int
    reason: StartReason


@dataclass
class Stream:
    key: FileKey
    stream_identity: str
    generation: int
    stream_id: str
    fingerprint: str
    input: InputSettings
    path: str
    encoding: str
    """The codec its lines are decoded with (configured, recorded or detected; shipper.harvest.encodings)."""
    line_end: bytes
    parser: Parsing
    tracker: AckTracker
    cursor: Cursor
    size: int = 0
    """The file's size when last read."""
    bom: int = 0
    """Length of the byte order mark at offset 0."""
    chain: "EventChain | None" = None
    """Its input's processing after parsing (shipper.processing); None when its events go out as parsed."""
    topic: str | None = None
    """Its input's static topic; None for kafka.topic (or a topic template, which is the chain's)."""
    retired: bool = False
    """Its file's content was replaced; it only finishes delivering and never writes a checkpoint again."""

    def checkpoint(self) -> Checkpoint:
        return Checkpoint(
            key=self.key, stream_identity=self.stream_identity, generation=self.generation,
            offset=self.tracker.offset, marker=self.tracker.marker, path=self.path, input_id=self.input.id,
            size=self.size, updated=time.time(), encoding=self.encoding,
        )


__all__ = ["Cursor", "Start", "StartReason", "Stream", "stream_id_for"]


def stream_id_for(host_id: str, stream_identity: str, generation: int) -> str:
    return make_stream_id(host_id, stream_identity, generation)
