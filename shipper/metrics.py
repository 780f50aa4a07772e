"""The shipper's metrics and health, served by logferry.exporter when `shipper.metrics_address` is set.

Names follow Prometheus' conventions (README, "Metrics"): `logferry_shipper_` then what is counted, the unit last,
`_total` on counters only. Labels are bounded: the input id and the format, never a file's path (a path per rotated
file would grow the series without end).

/health answers 503 (logferry.health) when Kafka has been unreachable or unacknowledging for
health.delivery_stall, at once when checkpoints cannot be written (the runner retries them with backoff), and when
the main loop has not turned for health.loop_stall. While Kafka is thought unreachable and nothing waits for it,
a probe thread asks for metadata every few seconds, so that /health sees an idle shipper's outage end.
"""

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from logferry.exporter import Exporter, registry
from logferry.health import Check, Failure, Health, HealthSettings, KafkaWatch, Problem, ReachabilityProbe

if TYPE_CHECKING:
    from shipper.delivery.producer import Delivery
    from shipper.files import Files


class KafkaLink(Protocol):
    """What /health needs of the producer (shipper.delivery.producer.Delivery)."""

    watch: KafkaWatch

    def probe(self, timeout: float) -> object: ...

    def resumed(self, lasted: float) -> None: ...


class ShipperCollector(Collector):
    """Reads the shipper's counters (plain integers of the main loop) when a scrape comes."""

    def __init__(self, files: "Files", delivery: "Delivery") -> None:
        self._files = files
        self._delivery = delivery

    def collect(self) -> Iterable[Metric]:
        files, delivery = self._files, self._delivery
        for name, text, value in (
            ("logferry_shipper_read_lines", "Lines read from files.", files.lines_read),
            ("logferry_shipper_read_bytes", "Bytes read from files.", files.bytes_read),
            ("logferry_shipper_parse_failures", "Events flagged parse_error.", files.parse_failures),
            ("logferry_shipper_produced_events", "Events handed to Kafka.", delivery.events_produced),
            ("logferry_shipper_delivery_errors", "Failed deliveries (each produced again).", delivery.delivery_errors),
            ("logferry_shipper_truncated_events", "Events cut to fit the broker's size limit.", delivery.truncated),
        ):
            yield CounterMetricFamily(name, text, value=value)
        by_format = CounterMetricFamily("logferry_shipper_events", "Events produced, by format.", labels=["format"])
        for format_name, count in sorted(dict(files.events_by_format).items()):
            by_format.add_metric([format_name], count)
        yield by_format
        dropped = CounterMetricFamily("logferry_shipper_dropped_events",
                                      "Lines and events left out by processing, by input and reason (include_lines, "
                                      "exclude_lines, or a drop rule's name).", labels=["input", "reason"])
        redacted = CounterMetricFamily("logferry_shipper_redacted_events",
                                       "Events changed by redaction, by input and rule.", labels=["input", "rule"])
        for input_id, processing in sorted(files.processing.items()):
            for reason, count in sorted(dict(processing.dropped).items()):
                dropped.add_metric([input_id, reason], count)
            for rule, count in sorted(dict(processing.redacted).items()):
                redacted.add_metric([input_id, rule], count)
        yield dropped
        yield redacted
        yield GaugeMetricFamily("logferry_shipper_inflight_records", "Events awaiting Kafka's acknowledgement.",
                                value=delivery.inflight.records)
        yield GaugeMetricFamily("logferry_shipper_inflight_bytes", "Bytes awaiting Kafka's acknowledgement.",
                                value=delivery.inflight.bytes)
        follows = list(files.follows)
        yield GaugeMetricFamily("logferry_shipper_open_files", "Files held open.", value=len(follows))
        behind: dict[str, int] = {}
        for follow in follows:
            stream = follow.stream
            if stream is not None:
                lag = max(0, follow.harvester.size - stream.tracker.offset)
                behind[follow.input.id] = behind.get(follow.input.id, 0) + lag
        gauge = GaugeMetricFamily("logferry_shipper_behind_bytes", "Bytes of open files not yet acknowledged, by input.",
                                  labels=["input"])
        for input_id, value in sorted(behind.items()):
            gauge.add_metric([input_id], value)
        yield gauge


def shipper_registry(files: "Files", delivery: "Delivery") -> CollectorRegistry:
    """The shipper process's registry: its own metrics beside the process and build ones."""
    own = registry("shipper")
    own.register(ShipperCollector(files, delivery))
    return own


def shipper_health(
    settings: HealthSettings, last_turn: Callable[[], float], kafka: KafkaLink | None,
    checkpoint_failure: Callable[[], Any],
) -> Health:
    """The shipper's /health. `checkpoint_failure()` is the runner's current checkpoint write failure (an object
    with `.since`, a time.monotonic() value, and `.error`), None while checkpoints are written."""

    def checkpoints(now: float) -> Failure | None:
        failing = checkpoint_failure()
        if failing is None:
            return None
        # Immediately: a checkpoint that cannot be written is a fact, retried with backoff by the runner.
        return Failure(Problem.CHECKPOINTS_FAILING, float(failing.since), str(failing.error))

    checks: list[Check] = [checkpoints] if kafka is None else [Health.kafka(kafka.watch, settings.delivery_stall), checkpoints]
    return Health(settings, last_turn, checks)


def serve(
    address: str, files: "Files", delivery: "Delivery", *, last_turn: Callable[[], float], settings: HealthSettings,
    checkpoint_failure: Callable[[], Any],
) -> Exporter:
    """The shipper's exporter on `address` (bound, not started; ExporterError names the address if it is taken)."""
    health = shipper_health(settings, last_turn, delivery, checkpoint_failure)
    probe = ReachabilityProbe(delivery.watch, delivery.probe, delivery.resumed)
    return Exporter(address, shipper_registry(files, delivery), health.answer, probe)
