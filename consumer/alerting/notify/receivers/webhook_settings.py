"""`[[receivers]] type = "webhook"`: notifications as JSON POSTed to a URL."""

from dataclasses import dataclass
from typing import Literal

from consumer.alerting.notify.receivers.http_settings import HttpPostSettings
from consumer.alerting.notify.settings import ReceiverSettings
from logferry.config import setting


@dataclass(frozen=True, kw_only=True)
class WebhookSettings(ReceiverSettings, HttpPostSettings):
    """A URL that takes the versioned JSON payload (README: "Webhook payload")."""

    type: Literal["webhook"] = setting("webhook", "Receiver type: email, webhook or alertmanager.")

    def check(self, where: str) -> None:
        super().check(where)
        self.check_http(where)
