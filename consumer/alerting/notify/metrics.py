"""The notifier's metrics, served on the evaluator's endpoint (logferry.exporter conventions: plain integers
counted by the notifier's and the delivery thread's code, read by a collector when a scrape comes; names
`logferry_evaluator_<what>_<unit>` as tests/support/metrics.py checks them).

    logferry_evaluator_sent_notifications_total{receiver}         notifications a receiver accepted
    logferry_evaluator_failed_notifications_total{receiver}       tries that failed (each retried or given up)
    logferry_evaluator_given_up_notifications_total{receiver}     notifications given up (refused, or past give_up_after)
    logferry_evaluator_suppressed_notifications_total{reason}     alerts kept out of notifications (silenced, inhibited)
    logferry_evaluator_delayed_notifications_total{receiver}      group flushes put off by the receiver's rate limit
    logferry_evaluator_outbox_notifications                       notifications waiting in the outbox (its depth)
"""

import weakref
from collections import Counter
from collections.abc import Iterable
from typing import Protocol

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class NotifyMetrics:
    """What the notifier and its delivery count; `register` shows them in a registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.sent: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.given_up: Counter[str] = Counter()
        self.suppressed: Counter[str] = Counter()
        self.delayed: Counter[str] = Counter()
        self.outbox_depth = 0
        if registry is not None:
            self.register(registry)

    def register(self, registry: CollectorRegistry) -> None:
        registry.register(NotifyCollector(self))


class HasRegistry(Protocol):
    """A program's metrics object that carries its registry (consumer.metrics.Metrics and its kin)."""

    registry: CollectorRegistry


MetricsLike = NotifyMetrics | CollectorRegistry | HasRegistry | None
_SHARED: "weakref.WeakKeyDictionary[CollectorRegistry, NotifyMetrics]" = weakref.WeakKeyDictionary()


def notify_metrics(metrics: MetricsLike) -> NotifyMetrics:
    """The NotifyMetrics to count in: `metrics` itself, or the one shown in a registry (or in a metrics object's
    registry), made and registered on first use, so the Notifier and the OutboxDelivery given the same registry
    count in the same place; a private one for None."""
    if isinstance(metrics, NotifyMetrics):
        return metrics
    if metrics is None:
        return NotifyMetrics()
    registry = metrics if isinstance(metrics, CollectorRegistry) else metrics.registry
    shared = _SHARED.get(registry)
    if shared is None:
        shared = _SHARED[registry] = NotifyMetrics(registry)
    return shared


class NotifyCollector(Collector):
    def __init__(self, metrics: NotifyMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        m = self._metrics
        for name, counts, label, text in (
            ("sent", m.sent, "receiver", "Notifications a receiver accepted."),
            ("failed", m.failed, "receiver", "Tries to send a notification that failed (retried or given up)."),
            ("given_up", m.given_up, "receiver", "Notifications given up: refused, or not accepted within give_up_after."),
            ("suppressed", m.suppressed, "reason", "Alerts kept out of notifications (silenced, inhibited)."),
            ("delayed", m.delayed, "receiver", "Group notifications put off by the receiver's rate limit (merged, not lost)."),
        ):
            family = CounterMetricFamily(f"logferry_evaluator_{name}_notifications", text, labels=[label])
            for key, value in sorted(dict(counts).items()):
                family.add_metric([key], value)
            yield family
        yield GaugeMetricFamily("logferry_evaluator_outbox_notifications",
                                "Notifications waiting in the outbox to be delivered.", value=m.outbox_depth)
