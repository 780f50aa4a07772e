"""The evaluator's worker: the consumer's worker (membership, rebalances, catch-up, retries, health), whose idle
upkeep turns every `[alert] evaluation_interval` instead of every few seconds, so that absence rules, resolutions and
the notifier's timers keep time while no event arrives."""

import time

from consumer.config import ConsumerConfig
from consumer.metrics import Metrics
from consumer.sinks.base import Sink
from consumer.worker import Worker
from logferry.progress import Progress


class EvaluatorWorker(Worker):
    """A worker whose sink is the alert evaluator."""

    def __init__(self, config: ConsumerConfig, sink: Sink, metrics: Metrics, progress: Progress, *, tick: float) -> None:
        super().__init__(config, sink, metrics, progress)
        self._tick = tick

    def _upkeep(self) -> None:
        super()._upkeep()
        self._upkeep_at = time.monotonic() + self._tick
