"""The plain registry of receiver kinds: `type` -> the module that sends and its settings dataclass.

A receiver module is imported only when a receiver of that kind is opened; each defines
`open_receiver(settings) -> Receiver` (consumer.alerting.notify.receivers.base)."""

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import cast

from consumer.alerting.notify.receivers.alertmanager_settings import AlertmanagerSettings
from consumer.alerting.notify.receivers.base import Receiver
from consumer.alerting.notify.receivers.email_settings import EmailSettings
from consumer.alerting.notify.receivers.webhook_settings import WebhookSettings
from consumer.alerting.notify.settings import ReceiverSettings


@dataclass(frozen=True)
class ReceiverKind:
    """One kind of receiver: `module` defines open_receiver; `settings` declares its `[[receivers]]` keys."""

    module: str
    settings: type[ReceiverSettings]


RECEIVERS: dict[str, ReceiverKind] = {
    "email": ReceiverKind("consumer.alerting.notify.receivers.email", EmailSettings),
    "webhook": ReceiverKind("consumer.alerting.notify.receivers.webhook", WebhookSettings),
    "alertmanager": ReceiverKind("consumer.alerting.notify.receivers.alertmanager", AlertmanagerSettings),
}


def open_receiver(settings: ReceiverSettings) -> Receiver:
    """The receiver `settings` describe, ready to send."""
    factory = cast(Callable[[ReceiverSettings], Receiver], import_module(RECEIVERS[settings.type].module).open_receiver)
    return factory(settings)
