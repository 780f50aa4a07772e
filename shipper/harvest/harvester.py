"""One open file and its explicit state machine.

    OPENING --identified--> READING <--> IDLE
       |                       |          |
       +-------path gone or replaced (rotation, deletion)----> DRAINING --EOF + rotate_wait--> CLOSED
    any state --close()--> CLOSED

Reads happen in chunks from the current position, which is always the start of a line (or, while a line
longer than max_line_bytes is being skipped, the scan position inside it). A partial last line is not
consumed: it is read again next turn, so the file on disk is the buffer and memory stays bounded.
Each read starts MARKER_BYTES before the position and compares them with what was read last time, which
catches content replaced in place (copytruncate) even when the file regrew past the old position.
"""

import enum
import os
import time
from typing import BinaryIO

from shipper import platform
from shipper.harvest.framing import Framer
from shipper.identity import MARKER_BYTES, fingerprint_of, marker_of, read_head
from shipper.records import RawRecord, RecordFields


class State(enum.Enum):
    OPENING = "opening"
    READING = "reading"
    IDLE = "idle"
    DRAINING = "draining"
    CLOSED = "closed"


_ALLOWED = {
    State.OPENING: {State.READING, State.DRAINING, State.CLOSED},
    # Back to OPENING when the content was replaced in place: the file is identified again.
    State.READING: {State.IDLE, State.DRAINING, State.OPENING, State.CLOSED},
    State.IDLE: {State.READING, State.DRAINING, State.OPENING, State.CLOSED},
    # Back to IDLE when the file was only renamed to another name the globs match.
    State.DRAINING: {State.IDLE, State.CLOSED},
    State.CLOSED: set(),
}


class Outcome(enum.Enum):
    MORE = "more"  # the budget ran out; more may be waiting
    EOF = "eof"  # everything complete was read
    REPLACED = "replaced"  # the content was truncated or replaced in place


class Harvester:
    """Reads one open file from a position, turn by turn."""

    def __init__(self, path: str, handle: BinaryIO, read_chunk_bytes: int) -> None:
        self.path = path
        self.handle = handle
        self.fd = handle.fileno()
        st = os.fstat(self.fd)
        self.dev_ino = (st.st_dev, st.st_ino)
        self.os_identity = platform.file_identity(self.fd)
        self.size = st.st_size
        self.state = State.OPENING
        self.read_chunk_bytes = read_chunk_bytes
        self.position = 0
        self.tail = b""  # the (at most MARKER_BYTES) bytes just before `position`
        self.framer: Framer | None = None
        # Inside a line longer than max_line_bytes whose cut beginning was already emitted: skip to its end.
        self.skipping = False
        now = time.monotonic()
        self.last_data = now  # monotonic time of the last byte read
        self.next_poll = now
        self.backoff = 0.0
        self.draining_since: float | None = None

    @classmethod
    def open(cls, path: str, read_chunk_bytes: int) -> "Harvester":
        return cls(path, platform.open_for_reading(path), read_chunk_bytes)

    def move(self, to: State) -> None:
        if to is self.state:
            return
        if to not in _ALLOWED[self.state]:
            raise RuntimeError(f"harvester of {self.path}: no transition from {self.state.value} to {to.value}")
        self.state = to

    # -- identity --------------------------------------------------------------------------------------------

    def head(self) -> bytes:
        return read_head(self.handle)

    def fingerprint(self) -> str | None:
        """The first-line fingerprint, None while the first line is still incomplete."""
        return fingerprint_of(self.head())

    def start(self, position: int, framer: Framer, bom: int = 0) -> None:
        """Begin reading at `position` with `framer`.

        A position that is not a line start can only be a checkpoint inside an over-long line whose cut
        beginning was shipped: the rest of that line is skipped, never shipped as a line of its own.
        """
        self.framer = framer
        self.position = position
        self.tail = self._bytes_before(position)
        newline = framer.newline
        self.skipping = position > bom and self.tail[-len(newline) :] != newline
        self.move(State.READING)

    def reopen(self) -> None:
        """The content was replaced in place (same handle): identify the file again, then read from the start."""
        self.move(State.OPENING)
        self.framer = None
        self.position = 0
        self.skipping = False
        self.tail = b""

    def bytes_before(self, offset: int) -> bytes:
        """The (at most MARKER_BYTES) bytes just before `offset`."""
        return self._bytes_before(offset)

    def marker_before(self, offset: int) -> str:
        """The offset marker for `offset` (normally the current position, whose bytes are in memory)."""
        if offset == self.position:
            return marker_of(self.tail)
        return marker_of(self._bytes_before(offset))

    def _bytes_before(self, offset: int) -> bytes:
        start = max(0, offset - MARKER_BYTES)
        self.handle.seek(start)
        return self.handle.read(offset - start) or b""

    # -- reading ---------------------------------------------------------------------------------------------

    def stat_size(self) -> int:
        self.size = os.fstat(self.fd).st_size
        return self.size

    def read_turn(self, budget: int) -> tuple[list[RecordFields], Outcome]:
        """Complete lines from the position on, at most about `budget` bytes of them."""
        framer = self.framer
        assert framer is not None, "start() first"
        size = self.stat_size()
        if size < self.position:
            return [], Outcome.REPLACED
        if size == self.position:
            return [], Outcome.EOF
        records: list[RecordFields] = []
        chunk = self.read_chunk_bytes - self.read_chunk_bytes % 2 or 2
        while budget > 0:
            if self.skipping:
                want = min(chunk, budget)
                outcome = self._skip_long_line(max(2, want - want % 2), framer)
                if outcome is not Outcome.MORE:
                    return records, outcome
                budget -= chunk
                continue
            want = min(chunk, max(budget, 2))
            want -= want % 2
            tail = self.tail
            self.handle.seek(self.position - len(tail))
            data = self.handle.read(want + len(tail)) or b""
            if tail:
                if not data.startswith(tail):
                    return records, Outcome.REPLACED
                data = data[len(tail) :]
            got = len(data)
            if got == 0:
                return records, Outcome.EOF
            found, consumed = framer.frame(data, self.position)
            if consumed:
                records.extend(found)
                self._advance(data, consumed)
                budget -= consumed
            elif got == want:
                # No newline in a full chunk: a line longer than the chunk.
                outcome = self._read_long_line(records, framer)
                if outcome is not Outcome.MORE:
                    return records, outcome
                budget -= chunk
                continue
            if got < want:
                return records, Outcome.EOF
        return records, Outcome.MORE

    def _advance(self, data: bytes, consumed: int) -> None:
        if consumed >= MARKER_BYTES:
            self.tail = data[consumed - MARKER_BYTES : consumed]
        else:
            self.tail = (self.tail + data[:consumed])[-MARKER_BYTES:]
        self.position += consumed
        self.last_data = time.monotonic()

    def _read_long_line(self, records: list[RecordFields], framer: Framer) -> Outcome:
        window = framer.max_line + 2 * len(framer.newline)
        self.handle.seek(self.position)
        data = self.handle.read(window) or b""
        index = framer.find_newline(data)
        if index >= 0:
            end = index + len(framer.newline)
            records.append(framer.record(data[:index], self.position, self.position + end))
            self._advance(data, end)
            return Outcome.MORE
        if len(data) < window:
            return Outcome.EOF  # a partial line that may still fit once complete
        # Over-long: ship its beginning now (even if its end never comes), then skip the rest.
        taken = framer.max_line
        records.append(RawRecord(self.position, self.position + taken, data[:taken], True))
        self._advance(data, taken)
        self.skipping = True
        return Outcome.MORE

    def _skip_long_line(self, want: int, framer: Framer) -> Outcome:
        self.handle.seek(self.position - len(self.tail))
        data = self.handle.read(want + len(self.tail)) or b""
        if not data.startswith(self.tail):
            return Outcome.REPLACED
        data = data[len(self.tail) :]
        index = framer.find_newline(data)
        if index < 0:
            usable = len(data) - len(data) % 2 if framer.wide else len(data)
            if usable:
                self._advance(data, usable)
            return Outcome.MORE if len(data) == want else Outcome.EOF
        self._advance(data, index + len(framer.newline))
        self.skipping = False
        return Outcome.MORE

    def close(self) -> None:
        if self.state is not State.CLOSED:
            self.move(State.CLOSED)
            self.handle.close()
