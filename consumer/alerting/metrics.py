"""The evaluator's metrics, on the consumer's endpoint beside the worker's own (the notifier adds its own):

- logferry_alerts_open{state}: pending and firing alerts now;
- logferry_alert_changes_total{state}: alert changes recorded (pending, firing, resolved);
- logferry_alert_evaluated_events_total: events that concerned at least one rule;
- logferry_alert_skipped_hits_total: rule hits not counted again after a replay;
- logferry_alert_evaluation_lag_seconds: wall time minus the newest event time evaluated, at the last batch;
- logferry_alert_rules: rules configured.
"""

from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from consumer.alerting.evaluator import EvaluatorStats
from consumer.metrics import Metrics


class AlertCollector(Collector):
    def __init__(self, stats: EvaluatorStats, rules: int) -> None:
        self._stats = stats
        self._rules = rules

    def collect(self) -> Iterable[Metric]:
        stats = self._stats
        open_alerts = GaugeMetricFamily("logferry_alerts_open", "Pending and firing alerts.", labels=["state"])
        for state, count in stats.open.items():
            open_alerts.add_metric([state.value], count)
        yield open_alerts
        changes = CounterMetricFamily("logferry_alert_changes", "Alert changes recorded.", labels=["state"])
        for state, count in stats.changes.items():
            changes.add_metric([state.value], count)
        yield changes
        yield CounterMetricFamily("logferry_alert_evaluated_events", "Events that concerned at least one rule.",
                                  value=stats.evaluated)
        yield CounterMetricFamily("logferry_alert_skipped_hits", "Rule hits not counted again after a replay.",
                                  value=stats.skipped)
        yield GaugeMetricFamily("logferry_alert_evaluation_lag_seconds",
                                "Wall time minus the newest event time evaluated, at the last batch.",
                                value=stats.lag_seconds)
        yield GaugeMetricFamily("logferry_alert_rules", "Rules configured.", value=self._rules)


def register(metrics: Metrics, stats: EvaluatorStats, rules: int) -> None:
    metrics.registry.register(AlertCollector(stats, rules))
