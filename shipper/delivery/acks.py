"""In-order acknowledgement per stream: the checkpoint is the end of the last batch of a fully acknowledged prefix.

A batch is the events produced from one read turn of one file (or one parser flush). Its `end` is how far the
stream is covered once every event in it is acknowledged: the read position, or the first record the parser
still holds. Delivery reports only count (one shared callable per batch, no per-message closure), so reports may
arrive in any order and re-produced messages count where they belong.
"""

from collections import deque
from typing import Any, Protocol


class FailureHandler(Protocol):
    def failed(self, batch: "DeliveryBatch", error: Any, message: Any) -> None: ...


class InFlight:
    """Records and bytes produced but not yet acknowledged, over all streams."""

    __slots__ = ("bytes", "records")

    def __init__(self) -> None:
        self.records = 0
        self.bytes = 0


class DeliveryBatch:
    """The delivery-report callback for the events of one batch: counts acknowledgements."""

    __slots__ = ("acked", "done", "end", "failures", "marker", "nbytes", "size", "tracker")

    def __init__(self, tracker: "AckTracker", size: int, nbytes: int, end: int, marker: str) -> None:
        self.tracker = tracker
        self.size = size
        self.nbytes = nbytes
        self.end = end
        self.marker = marker
        self.acked = 0
        self.failures = 0
        self.done = size == 0

    def __call__(self, error: Any, message: Any) -> None:
        if error is None:
            self.acked += 1
            if self.acked == self.size:
                self.tracker.completed(self)
        else:
            self.failures += 1
            self.tracker.failure_handler.failed(self, error, message)


class AckTracker:
    """The acknowledged position of one stream."""

    def __init__(self, offset: int, marker: str, inflight: InFlight, failure_handler: FailureHandler) -> None:
        self.offset = offset
        self.marker = marker
        self.inflight = inflight
        self.failure_handler = failure_handler
        self.pending: deque[DeliveryBatch] = deque()
        self.changed = False

    def open_batch(self, size: int, nbytes: int, end: int, marker: str) -> DeliveryBatch:
        """A batch of `size` events (`nbytes` in all) covering the stream up to `end`, in stream order."""
        batch = DeliveryBatch(self, size, nbytes, end, marker)
        if size == 0:
            if not self.pending:
                self._move_to(end, marker)
            else:
                self.pending.append(batch)
            return batch
        self.inflight.records += size
        self.inflight.bytes += nbytes
        self.pending.append(batch)
        return batch

    def completed(self, batch: DeliveryBatch) -> None:
        batch.done = True
        self.inflight.records -= batch.size
        self.inflight.bytes -= batch.nbytes
        pending = self.pending
        while pending and pending[0].done:
            front = pending.popleft()
            self._move_to(front.end, front.marker)

    def _move_to(self, end: int, marker: str) -> None:
        if end > self.offset:
            self.offset = end
            self.marker = marker
            self.changed = True

    @property
    def settled(self) -> bool:
        """Every batch acknowledged."""
        return not self.pending
