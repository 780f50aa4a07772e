"""Which stream a newly identified file continues, and where: pure decisions on facts the caller read.

No I/O here: `FileFacts` holds what was read from the file (its size, the bytes before each offset that matters)
and what is known about the streams and checkpoints that share its key or fingerprint; `resolve` returns one
`Decision`. The rules (see shipper/README.md, "A file's life"):

- the same key with a live stream: the same file under a second name is read once (`Duplicate`); else it
  continues that stream when its bytes before the stream's position are still the ones read (`Continue`), or
  its content was replaced while it was closed and it begins the next generation;
- no checkpoint: a parked stream (its file was truncated in place) with the same fingerprint and bytes is
  continued by this file, its rotated copy (`Adopt`); when an open file with the same fingerprint still holds
  this file's bytes, this may be a copy made just before a truncation, so wait a moment (`Defer`); a checkpoint of
  the same fingerprint whose bytes this file holds and whose own file no longer does is continued from its
  offset (a copy made while the shipper was down);
- otherwise `decide_start` on the file's own checkpoint.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from shipper.checkpoint import Checkpoint
from shipper.identity import marker_of
from shipper.streams import Start, StartReason


@dataclass(frozen=True)
class Known:
    """A stream's read position and the bytes before it (a live stream, a parked one, or another open file's)."""

    position: int
    tail: bytes


@dataclass(frozen=True)
class LiveFacts(Known):
    attached: bool
    generation: int


@dataclass(frozen=True)
class CopySource:
    """A checkpoint of another file with this file's fingerprint."""

    checkpoint: Checkpoint
    still_holds: bool
    """Whether the file it was made from still has the bytes before its offset."""


@dataclass(frozen=True)
class FileFacts:
    size: int
    before: Mapping[int, bytes]
    """The (at most MARKER_BYTES) bytes before each offset in `offsets_of(...)` that the file reaches."""
    live: LiveFacts | None = None
    checkpoint: Checkpoint | None = None
    parked: Sequence[Known] = ()
    open_originals: Sequence[Known] = ()
    copy_sources: Sequence[CopySource] = ()
    may_wait: bool = True
    """Neither `once` nor waited already."""


@dataclass(frozen=True)
class Duplicate:
    """The same file is open under another name: close this handle."""


@dataclass(frozen=True)
class Continue:
    """Continue the live stream of this key at its position."""


@dataclass(frozen=True)
class Adopt:
    """Continue the parked stream `parked[index]` at its position."""

    index: int


@dataclass(frozen=True)
class Defer:
    """Look again in a moment: this may be a copy whose original is about to be truncated."""


@dataclass(frozen=True)
class Begin:
    """A stream of its own: from `start`, with `inherited`'s stream identity when it continues a copy."""

    start: Start
    inherited: Checkpoint | None = None
    retire_live: bool = False
    """The live stream of this key ends here (its content was replaced while it was closed)."""


Decision = Duplicate | Continue | Adopt | Defer | Begin


def offsets_of(facts_without_bytes: "FileFacts") -> set[int]:
    """The offsets whose preceding bytes `resolve` compares (for the caller to read into `before`)."""
    f = facts_without_bytes
    wanted = {k.position for k in f.parked} | {k.position for k in f.open_originals}
    wanted |= {s.checkpoint.offset for s in f.copy_sources}
    if f.live is not None:
        wanted.add(f.live.position)
    if f.checkpoint is not None:
        wanted.add(f.checkpoint.offset)
    return {o for o in wanted if o <= f.size}


def _holds(facts: FileFacts, known: Known) -> bool:
    return facts.size >= known.position and facts.before.get(known.position) == known.tail


def _marker_at(facts: FileFacts, offset: int) -> str | None:
    before = facts.before.get(offset)
    return None if before is None or offset > facts.size else marker_of(before)


def resolve(facts: FileFacts) -> Decision:
    live = facts.live
    if live is not None:
        if live.attached:
            return Duplicate()
        if _holds(facts, live):
            return Continue()
        return Begin(Start(live.generation + 1, 0, StartReason.REPLACED), retire_live=True)
    if facts.checkpoint is None:
        for index, parked in enumerate(facts.parked):
            if _holds(facts, parked):
                return Adopt(index)
        if facts.may_wait and any(o.position > 0 and _holds(facts, o) for o in facts.open_originals):
            return Defer()
        for source in facts.copy_sources:
            entry = source.checkpoint
            if entry.offset == 0 or facts.size < entry.offset or _marker_at(facts, entry.offset) != entry.marker:
                continue
            if not source.still_holds:
                return Begin(Start(entry.generation, entry.offset, StartReason.COPY), inherited=entry)
            if facts.may_wait:
                return Defer()
    return Begin(decide_start(facts.checkpoint, facts.size, lambda offset: _marker_at(facts, offset)))


def decide_start(checkpoint: Checkpoint | None, size: int, marker_at: Callable[[int], str | None]) -> Start:
    """Where a file with this checkpoint resumes, and in which generation."""
    if checkpoint is None:
        return Start(0, 0, StartReason.NEW)
    if checkpoint.replaced:
        return Start(checkpoint.generation + 1, 0, StartReason.REPLACED)
    if size < checkpoint.offset:
        return Start(checkpoint.generation + 1, 0, StartReason.TRUNCATED)
    if checkpoint.offset and marker_at(checkpoint.offset) != checkpoint.marker:
        return Start(checkpoint.generation + 1, 0, StartReason.MARKER_MISMATCH)
    return Start(checkpoint.generation, checkpoint.offset, StartReason.RESUMED)

