"""The evaluator's worker: the consumer's worker (membership, rebalances, catch-up, retries, health), whose idle
upkeep turns every `[alert] evaluation_interval` instead of every few seconds, so that absence rules, resolutions and
the notifier's timers keep time while no event arrives; and which calls `after_commit` on the writer thread once
each of the evaluator's transactions (a batch's flush, an idle turn) has ended, so that the outbox's delivery is
woken for the notifications it queued."""

import time
from collections.abc import Callable

from consumer.config import ConsumerConfig
from consumer.metrics import Metrics
from consumer.sinks.base import FlushResult, Sink
from consumer.worker import Worker
from logferry.progress import Progress


def _nothing() -> None:
    return None


class EvaluatorWorker(Worker):
    """A worker whose sink is the alert evaluator."""

    def __init__(self, config: ConsumerConfig, sink: Sink, metrics: Metrics, progress: Progress, *, tick: float,
                 after_commit: Callable[[], None] = _nothing) -> None:
        super().__init__(config, sink, metrics, progress)
        self._tick = tick
        self._after_commit = after_commit

    def _upkeep(self) -> None:
        self._upkeep_at = time.monotonic() + self._tick
        if self._upkeep_future is None or self._upkeep_future.done():
            self._upkeep_future = self._writer.submit(self._maintain)

    def _maintain(self) -> None:
        try:
            self._sink.maintain()
        finally:
            self._after_commit()

    def _timed_flush(self) -> tuple[FlushResult, float]:
        try:
            return super()._timed_flush()
        finally:
            self._after_commit()
