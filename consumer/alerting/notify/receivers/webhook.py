"""The webhook receiver: the notification's versioned JSON payload (README: "Webhook payload") POSTed to a URL with
an `Idempotency-Key` header, the notification's id, the same on every try of one notification."""

from consumer.alerting.notify.receivers.base import Notification
from consumer.alerting.notify.receivers.http import post_json
from consumer.alerting.notify.receivers.webhook_settings import WebhookSettings
from consumer.alerting.notify.settings import ReceiverSettings


def open_receiver(settings: ReceiverSettings) -> "WebhookReceiver":
    if not isinstance(settings, WebhookSettings):
        raise TypeError(f"a webhook receiver needs WebhookSettings, got {type(settings).__name__}")
    return WebhookReceiver(settings)


class WebhookReceiver:
    def __init__(self, settings: WebhookSettings) -> None:
        self.settings = settings

    def send(self, notification: Notification) -> None:
        s = self.settings
        post_json(s.url, notification.payload(s.console_url), headers={"Idempotency-Key": notification.id},
                  timeout=s.timeout, ca_file=s.ca_file, bearer_token_env=s.bearer_token_env)

    def close(self) -> None:
        return
