"""The evaluator's metrics, on the consumer's endpoint beside the worker's own (the notifier adds its own):

- logferry_evaluator_open_alerts{state}: pending and firing alerts now;
- logferry_evaluator_changed_alerts_total{state}: alert changes recorded (firing, resolved);
- logferry_evaluator_evaluated_events_total: events that concerned at least one rule;
- logferry_evaluator_skipped_items_total: rule hits (an event for one rule) not counted again after a replay;
- logferry_evaluator_lag_seconds: wall time minus the newest event time evaluated, at the last batch (the evaluation
  lag).
"""

from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from consumer.alerting.evaluator import EvaluatorStats
from consumer.metrics import Metrics


class AlertCollector(Collector):
    """Reads the evaluator's counters when a scrape comes."""

    def __init__(self, stats: EvaluatorStats) -> None:
        self._stats = stats

    def collect(self) -> Iterable[Metric]:
        stats = self._stats
        open_alerts = GaugeMetricFamily("logferry_evaluator_open_alerts", "Pending and firing alerts.",
                                        labels=["state"])
        for state, count in stats.open.items():
            open_alerts.add_metric([state.value], count)
        yield open_alerts
        changes = CounterMetricFamily("logferry_evaluator_changed_alerts", "Alert changes recorded.", labels=["state"])
        for state, count in stats.changes.items():
            changes.add_metric([state.value], count)
        yield changes
        yield CounterMetricFamily("logferry_evaluator_evaluated_events", "Events that concerned at least one rule.",
                                  value=stats.evaluated)
        yield CounterMetricFamily("logferry_evaluator_skipped_items",
                                  "Rule hits not counted again after a replay (the rule had counted the event).",
                                  value=stats.skipped)
        yield GaugeMetricFamily("logferry_evaluator_lag_seconds",
                                "Wall time minus the newest event time evaluated, at the last batch.",
                                value=stats.lag_seconds)


def register(metrics: Metrics, stats: EvaluatorStats) -> None:
    metrics.registry.register(AlertCollector(stats))
