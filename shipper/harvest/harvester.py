"""One open file and its explicit state machine.

    OPENING --identified--> READING <--> IDLE
       |                       |          |
       +-------path gone or replaced (rotation, deletion)----> DRAINING --EOF + rotate_wait--> CLOSED
    any state --close()--> CLOSED

Reads happen in chunks from the current position, which is always the start of a line (or, while a line
longer than max_line_bytes is being skipped, the scan position inside it). A partial last line is not
consumed: it is read again next turn, so the file on disk is the buffer and memory stays bounded.
Each read starts MARKER_BYTES before the position and compares them with what was read last time, and every
turn that finds new data first compares the file's first line with the one it was identified by: together they
catch content replaced in place (copytruncate, O_TRUNC and regrowth) even when the file regrew past the old
position with lines of the same length.

The harvester alone moves its state, its next poll time and its backoff (`poll_due`, `on_more`, `on_eof`,
`wake`, `defer`, `drain`, `renamed`); the position it reads from is its stream's `Cursor`.
"""

import enum
import os
import time
from typing import BinaryIO

from shipper import platform
from shipper.harvest.cursor import Cursor
from shipper.harvest.framing import Framer
from shipper.identity import MARKER_BYTES, fingerprint_of, marker_of, read_head
from shipper.records import RawRecord, RecordFields

MIN_BACKOFF = 0.05  # seconds before polling again a file that just gave data


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
        self.stat_seen = (st.st_size, st.st_mtime_ns)  # the raw (size, mtime) of the last stat
        self.read_to: tuple[int, int] | None = None
        """The raw (size, mtime) of the last turn that read everything complete; growth past it reopens the file."""
        self.state = State.OPENING
        self.read_chunk_bytes = read_chunk_bytes
        self.cursor = Cursor()
        self.first_line = b""  # what the file was identified by; checked again on every turn with new data
        self._verified_mtime: int | None = None  # the mtime at which the content was last seen unreplaced
        self.framer: Framer | None = None
        # Inside a line longer than max_line_bytes whose cut beginning was already emitted: skip to its end.
        self.skipping = False
        now = time.monotonic()
        self.last_data = now  # monotonic time of the last byte read
        self._next_poll = now
        self._backoff = 0.0

    @classmethod
    def open(cls, path: str, read_chunk_bytes: int) -> "Harvester":
        return cls(path, platform.open_for_reading(path), read_chunk_bytes)

    def _move(self, to: State) -> None:
        if to is self.state:
            return
        if to not in _ALLOWED[self.state]:
            raise RuntimeError(f"harvester of {self.path}: no transition from {self.state.value} to {to.value}")
        self.state = to

    @property
    def position(self) -> int:
        return self.cursor.position

    @property
    def tail(self) -> bytes:
        """The (at most MARKER_BYTES) bytes just before `position`."""
        return self.cursor.tail

    # -- scheduling ------------------------------------------------------------------------------------------

    def poll_due(self, now: float) -> bool:
        """Whether this turn should look at the file: a reading file always, others once their wait is over."""
        state = self.state
        if state is State.READING:
            return True
        if state is State.CLOSED:
            return False
        return now >= self._next_poll

    def on_more(self) -> None:
        """The turn stopped with more to read."""
        if self.state is State.IDLE:
            self._move(State.READING)
        self._backoff = 0.0

    def on_eof(self, now: float, read_something: bool, max_backoff: float) -> None:
        """Everything complete was read: poll again soon after data, less and less often while none comes."""
        self.read_to = self.stat_seen
        if self.state is State.READING:
            self._move(State.IDLE)
        self._backoff = MIN_BACKOFF if read_something else min(max_backoff, max(MIN_BACKOFF, self._backoff * 2))
        self._next_poll = now + self._backoff

    def wake(self) -> None:
        """A file-system event says the file changed: poll it this turn."""
        self._next_poll = 0.0
        self._backoff = 0.0

    def defer(self, now: float, seconds: float) -> None:
        """Not ready to be identified: look again in `seconds`."""
        self._next_poll = now + seconds

    def drain(self, now: float) -> None:
        """The path is gone or names another file: read this handle to its end, then close."""
        self._move(State.DRAINING)
        self._next_poll = now

    def renamed(self, path: str) -> None:
        """The draining handle's file reappeared under another name the globs match: follow it there."""
        self.path = path
        self._move(State.IDLE)

    def quiet_for(self, now: float) -> float:
        """Seconds since the last byte read."""
        return now - self.last_data

    # -- identity --------------------------------------------------------------------------------------------

    def head(self) -> bytes:
        return read_head(self.handle)

    def sample(self, size: int) -> bytes:
        """The first `size` bytes of the file (fewer when it is shorter): what its encoding is detected from."""
        return self._bytes_at(0, size)

    def fingerprint(self) -> str | None:
        """The first-line fingerprint, None while the first line is still incomplete."""
        return fingerprint_of(self.head())

    def start(self, cursor: Cursor | int, framer: Framer, bom: int = 0, first_line: bytes = b"") -> None:
        """Begin reading at the cursor (a stream's; or a bare position) with `framer`.

        A position that is not a line start can only be a checkpoint inside an over-long line whose cut
        beginning was shipped: the rest of that line is skipped, never shipped as a line of its own.
        """
        if isinstance(cursor, int):
            cursor = Cursor(cursor)
        self.framer = framer
        self.first_line = first_line
        cursor.tail = self._bytes_before(cursor.position)
        self.cursor = cursor
        newline = framer.newline
        self.skipping = cursor.position > bom and cursor.tail[-len(newline) :] != newline
        self._move(State.READING)

    def reopen(self) -> None:
        """The content was replaced in place (same handle): identify the file again, then read from the start.

        The old stream keeps its cursor (it may be continued by the rotated copy); this handle gets a new one.
        """
        self._move(State.OPENING)
        self.framer = None
        self.first_line = b""
        self._verified_mtime = None
        self.cursor = Cursor()
        self.skipping = False
        self._next_poll = 0.0

    def bytes_before(self, offset: int) -> bytes:
        """The (at most MARKER_BYTES) bytes just before `offset`."""
        return self._bytes_before(offset)

    def marker_before(self, offset: int) -> str:
        """The offset marker for `offset` (normally the current position, whose bytes are in memory)."""
        cursor = self.cursor
        if offset == cursor.position:
            return marker_of(cursor.tail)
        return marker_of(self._bytes_before(offset))

    def _bytes_before(self, offset: int) -> bytes:
        start = max(0, offset - MARKER_BYTES)
        return self._bytes_at(start, offset - start)

    def _bytes_at(self, offset: int, size: int) -> bytes:
        # seek + read on the handle, not os.pread: Windows has no pread, and every read here seeks first anyway.
        self.handle.seek(offset)
        return self.handle.read(size) or b""

    # -- reading ---------------------------------------------------------------------------------------------

    def stat_size(self) -> int:
        st = os.fstat(self.fd)
        self.stat_seen = (st.st_size, st.st_mtime_ns)
        self.size = st.st_size
        return self.size

    def first_line_changed(self) -> bool:
        """Whether the file no longer starts with the first line it was identified by (replaced in place)."""
        first = self.first_line
        return bool(first) and self._bytes_at(0, len(first)) != first

    def rewritten_at_same_size(self) -> bool:
        """Whether a file modified without growing no longer holds what was read (first line or tail changed)."""
        if self.first_line_changed():
            return True
        tail = self.cursor.tail
        return bool(tail) and self._bytes_at(self.cursor.position - len(tail), len(tail)) != tail

    def read_turn(self, budget: int) -> tuple[list[RecordFields], Outcome]:
        """Complete lines from the position on, at most about `budget` bytes of them."""
        framer = self.framer
        assert framer is not None, "start() first"
        size = self.stat_size()
        cursor = self.cursor
        if size < cursor.position:
            return [], Outcome.REPLACED
        if size == cursor.position:
            # Modified without growing: rewritten in place with as many bytes as were read, maybe.
            mtime = self.stat_seen[1]
            if mtime != self._verified_mtime:
                if self.rewritten_at_same_size():
                    return [], Outcome.REPLACED
                self._verified_mtime = mtime
            return [], Outcome.EOF
        if self.first_line_changed():
            return [], Outcome.REPLACED
        self._verified_mtime = self.stat_seen[1]
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
            tail = cursor.tail
            self.handle.seek(cursor.position - len(tail))
            data = self.handle.read(want + len(tail)) or b""
            if tail:
                if not data.startswith(tail):
                    return records, Outcome.REPLACED
                data = data[len(tail) :]
            got = len(data)
            if got == 0:
                return records, Outcome.EOF
            found, consumed = framer.frame(data, cursor.position)
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
        cursor = self.cursor
        if consumed >= MARKER_BYTES:
            cursor.tail = data[consumed - MARKER_BYTES : consumed]
        else:
            cursor.tail = (cursor.tail + data[:consumed])[-MARKER_BYTES:]
        cursor.position += consumed
        self.last_data = time.monotonic()

    def _read_long_line(self, records: list[RecordFields], framer: Framer) -> Outcome:
        window = framer.max_line + 2 * len(framer.newline)
        position = self.cursor.position
        self.handle.seek(position)
        data = self.handle.read(window) or b""
        index = framer.find_newline(data)
        if index >= 0:
            end = index + len(framer.newline)
            records.append(framer.record(data[:index], position, position + end))
            self._advance(data, end)
            return Outcome.MORE
        if len(data) < window:
            return Outcome.EOF  # a partial line that may still fit once complete
        # Over-long: ship its beginning now (even if its end never comes), then skip the rest.
        taken = framer.max_line
        records.append(RawRecord(position, position + taken, data[:taken], True))
        self._advance(data, taken)
        self.skipping = True
        return Outcome.MORE

    def _skip_long_line(self, want: int, framer: Framer) -> Outcome:
        tail = self.cursor.tail
        self.handle.seek(self.cursor.position - len(tail))
        data = self.handle.read(want + len(tail)) or b""
        if not data.startswith(tail):
            return Outcome.REPLACED
        data = data[len(tail) :]
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
            self._move(State.CLOSED)
            self.handle.close()
