"""The consumer's metrics and health, served by logferry.exporter when `consumer.metrics_address` is set.

Counters are plain integers updated by the worker's thread; the scrape only reads them (`ConsumerCollector`).
Names follow Prometheus' conventions (README, "Metrics"); the lag is `logferry_consumer_lag_records{topic, partition}`.
/health answers 503 with the problems as JSON (logferry.health) when Kafka has been unreachable or batch writes
have failed for health.delivery_stall, or the worker's loop has not turned for health.loop_stall; else 200.
"""

import logging
import time
from collections.abc import Callable, Iterable

from prometheus_client import Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from logferry.exporter import Exporter, registry
from logferry.health import Health, HealthSettings, KafkaWatch, Problem, ReachabilityProbe, lasting

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """What the worker counts, and the process's registry that shows it. `program` names the metrics
    (`logferry_<program>_...`) and the build info: "consumer" for an indexer, "evaluator" for the alert evaluator,
    whose worker is the same."""

    def __init__(self, program: str = "consumer") -> None:
        self.program = program
        self.consumed = 0
        self.indexed = 0
        self.duplicates = 0
        self.dead_letters = 0
        self.conflicts = 0
        self.retried_items = 0
        self.lag: dict[tuple[str, int], int] = {}
        self.serving = False  # whether an endpoint shows these (then the worker keeps `lag` fresh)
        self.kafka = KafkaWatch()  # fed by the worker: records and assignments arrive, or the brokers are down
        self.last_turn = time.monotonic()  # set by the worker's loop each turn
        self.failing_since: float | None = None
        self._flush_failures = 0
        self.registry = registry(program)
        self._batch_seconds = Histogram(
            f"logferry_{program}_batch_seconds", "Time to write one batch to the sink.", buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(ConsumerCollector(self))

    @property
    def flush_failures(self) -> int:
        """Failed batch writes; the first of a run of failures also marks since when writes fail (for /health)."""
        return self._flush_failures

    @flush_failures.setter
    def flush_failures(self, value: int) -> None:
        if value > self._flush_failures and self.failing_since is None:
            self.failing_since = time.monotonic()
        self._flush_failures = value

    def observe_batch(self, seconds: float) -> None:
        """A batch was written: writes no longer fail."""
        self.failing_since = None
        self._batch_seconds.observe(seconds)


class ConsumerCollector(Collector):
    """Reads the worker's counters when a scrape comes."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        m = self._metrics
        for name, value, text in (
            ("consumed_records", m.consumed, "Records consumed from Kafka."),
            ("indexed_events", m.indexed, "Events newly written to the index."),
            ("duplicate_events", m.duplicates, "Re-delivered events the index already held."),
            ("dead_letter_records", m.dead_letters, "Records sent to the dead letters."),
            ("conflicting_events", m.conflicts, "Events whose event_id the index held with different content (recorded)."),
            ("flush_failures", m.flush_failures, "Failed batch writes (retried)."),
            ("retried_items", m.retried_items, "Items the sink sent again after a transient refusal (429, 5xx)."),
        ):
            yield CounterMetricFamily(f"logferry_{m.program}_{name}", text, value=value)
        lag = GaugeMetricFamily(f"logferry_{m.program}_lag_records", "Records behind the end of each assigned partition.",
                                labels=["topic", "partition"])
        for (topic, partition), value in sorted(m.lag.items()):
            lag.add_metric([topic, str(partition)], value)
        yield lag


def consumer_health(metrics: Metrics, settings: HealthSettings) -> Health:
    """The consumer's /health: Kafka and the index's writes within health.delivery_stall, the loop turning."""
    bound = settings.delivery_stall
    return Health(settings, lambda: metrics.last_turn, [
        Health.kafka(metrics.kafka, bound),
        lambda now: lasting(Problem.WRITES_FAILING, metrics.failing_since, "", now, bound),
    ])


def health(metrics: Metrics, settings: HealthSettings, now: float) -> tuple[int, bytes]:
    """The /health status code and JSON body at `now` (time.monotonic())."""
    return consumer_health(metrics, settings).answer(now)


def serve(
    metrics: Metrics, address: str, settings: HealthSettings | None = None,
    probe: Callable[[float], object] | None = None,
) -> Exporter:
    """Serve `metrics` on http://address/metrics and /health from a daemon thread; returns the exporter (stop() to end
    it; ExporterError names the address if it is taken). `probe(timeout)` is a metadata request, asked while Kafka is
    thought unreachable and nothing arrives."""
    bounds = settings or HealthSettings()
    prober = None if probe is None else ReachabilityProbe(metrics.kafka, probe, resumed)
    exporter = Exporter(address, metrics.registry, consumer_health(metrics, bounds).answer, prober)
    exporter.start()
    metrics.serving = True
    return exporter


def resumed(lasted: float) -> None:
    """Kafka answers again after an outage (logged by the worker, or by the probe when the consumer is idle)."""
    log.info("Kafka answers again; consumption resumed.", extra={"outage_s": round(lasted, 3)})
