"""A stream: one file's bytes under one identity and generation, with its parser and acknowledgement tracker.

A stream outlives its open handle while events are in flight, so a file closed and opened again (idle, slots,
a rename) continues where reading stopped instead of sending the same lines twice.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

from schemas.ids import stream_id as make_stream_id
from shipper.checkpoint import Checkpoint
from shipper.config import InputSettings
from shipper.delivery.acks import AckTracker
from shipper.parsers.pipeline import StreamParser


@dataclass
class Stream:
    key: str
    stream_identity: str
    generation: int
    stream_id: str
    fingerprint: str
    input: InputSettings
    path: str
    encoding: str
    parser: StreamParser
    tracker: AckTracker
    position: int
    """Where reading continues."""
    tail: bytes = b""
    """The bytes just before `position`: checked when the file is opened again while the stream lives."""
    size: int = 0
    bom: int = 0
    """Length of the byte order mark at offset 0."""
    retired: bool = False
    """Its file's content was replaced; it only finishes delivering and never writes a checkpoint again."""

    def checkpoint(self) -> Checkpoint:
        return Checkpoint(
            key=self.key, stream_identity=self.stream_identity, generation=self.generation,
            offset=self.tracker.offset, marker=self.tracker.marker, path=self.path, input_id=self.input.id,
            size=self.size, updated=time.time(),
        )


@dataclass(frozen=True)
class Start:
    generation: int
    offset: int
    reason: str


def decide_start(checkpoint: Checkpoint | None, size: int, marker_at: Callable[[int], str | None]) -> Start:
    """Where a file with this checkpoint resumes, and in which generation."""
    if checkpoint is None:
        return Start(0, 0, "new")
    if checkpoint.replaced:
        return Start(checkpoint.generation + 1, 0, "replaced")
    if size < checkpoint.offset:
        return Start(checkpoint.generation + 1, 0, "truncated")
    if checkpoint.offset and marker_at(checkpoint.offset) != checkpoint.marker:
        return Start(checkpoint.generation + 1, 0, "marker mismatch")
    return Start(checkpoint.generation, checkpoint.offset, "resumed")


def stream_id_for(host_id: str, stream_identity: str, generation: int) -> str:
    return make_stream_id(host_id, stream_identity, generation)
