"""The notification half of alerting: routes, grouping, inhibition, silences, rate limits, and the outbox that
delivers to the receivers (email, webhook, Alertmanager). README.md here describes receivers, payload and routes.

The evaluator calls `Notifier.create_tables`, `Notifier.observe` and `Notifier.due` inside its own transactions
(the ones that store its Kafka offsets), and runs one `OutboxDelivery`, which sends with a connection of its own."""

from consumer.alerting.notify.delivery import OutboxDelivery
from consumer.alerting.notify.metrics import NotifyMetrics
from consumer.alerting.notify.notifier import Notifier, OutboxStatus, Suppression, suppressed
from consumer.alerting.notify.settings import (
    InhibitSettings,
    NotifySettings,
    ReceiverSettings,
    RouteSettings,
    check_notify,
)

__all__ = [
    "InhibitSettings",
    "Notifier",
    "NotifyMetrics",
    "NotifySettings",
    "OutboxDelivery",
    "OutboxStatus",
    "ReceiverSettings",
    "RouteSettings",
    "Suppression",
    "check_notify",
    "suppressed",
]
