"""When the batch being filled is written: on size while the worker is behind, after a short linger once it caught up.

A record's time to being searchable is the time it waits in the batch, plus the wait for the write in flight, plus
its own write. Behind (a backlog: each consume() call fills up to what it asked for), batches are written when full
(`batch_max_events` / `batch_max_bytes`), which is what makes a backfill fast: fewer, larger transactions and FTS
segments. Caught up (the last consume() call brought fewer records than asked for: it emptied the client's queue),
waiting longer cannot make the batch much bigger, only later: it is written once its first record has waited
`linger` seconds. Either way no record waits longer than `max_wait` in a partly filled batch.

At a steady rate the two meet without a switch: a batch written after the linger takes longer to write at a higher
rate, the next batch fills meanwhile, and it is written as soon as the write in flight ends (`due` says so, and the
worker waits for that write instead of calling consume() with a long timeout). So batches grow with the rate, and a
rate the sink cannot keep up with becomes a backlog, batches written on size.

The trigger also bounds the consume() timeout: consume() returns early only when it has all it asked for, so with a
partly filled batch it must not wait past the batch's deadline.
"""

from dataclasses import dataclass


@dataclass
class FlushTrigger:
    """The state of the batch being filled, as far as its write is concerned; the worker owns the batch itself."""

    max_events: int
    max_bytes: int
    max_wait: float
    """Most seconds the first record of a partly filled batch waits, behind or not (batch_max_wait)."""
    linger: float
    """Seconds the first record waits once caught up (at most max_wait)."""
    idle_timeout: float
    """The consume() timeout while nothing is buffered and nothing came in the last call."""

    def __post_init__(self) -> None:
        self.linger = min(self.linger, self.max_wait)
        self.started = 0.0  # when the batch's first record was consumed (monotonic)
        self.caught_up = False  # whether the last consume() call emptied the client's queue
        self._active = False  # whether the last consume() call brought anything

    def consumed(self, began: float, asked: int, got: int, buffered_before: int) -> None:
        """A consume() call that began at `began` for up to `asked` records brought `got`; the batch held
        `buffered_before` records before it."""
        if got and not buffered_before:
            # The records may have arrived at any time during the call: counted from its start, so the wait for
            # more (the call's own timeout included) stays within the linger.
            self.started = began
        self.caught_up = got < asked
        self._active = got > 0

    def full(self, events: int, nbytes: int) -> bool:
        return events >= self.max_events or nbytes >= self.max_bytes

    def due(self, now: float, events: int, nbytes: int) -> bool:
        """Whether a batch of `events` records and `nbytes` bytes should be written now (or as soon as the write in
        flight ends)."""
        if not events:
            return False
        waited = now - self.started
        return self.full(events, nbytes) or waited >= self.max_wait or (self.caught_up and waited >= self.linger)

    def room(self, events: int, most: int) -> int:
        """How many records the next consume() call asks for: what fits the batch, at most `most` (at least 1)."""
        return max(1, min(most, self.max_events - events))

    def timeout(self, now: float, events: int) -> float:
        """The next consume() call's timeout: up to the buffered batch's deadline, short while records flow."""
        if not events:
            # The first record of a new batch is not held back by a long wait for more when records are flowing.
            return self.linger if self._active else self.idle_timeout
        deadline = self.started + (self.linger if self.caught_up else self.max_wait)
        return max(0.0, min(self.idle_timeout, deadline - now))
