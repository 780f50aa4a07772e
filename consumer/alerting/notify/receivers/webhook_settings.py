"""`[[receivers]] type = "webhook"`: notifications as JSON POSTed to a URL."""

from dataclasses import dataclass
from typing import Literal

from consumer.alerting.notify.settings import DeliverySettings, ReceiverSettings
from logferry.config import REQUIRED, Seconds, setting
from logferry.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class WebhookSettings(ReceiverSettings, DeliverySettings):
    """A URL that takes the versioned JSON payload (README: "Webhook payload")."""

    type: Literal["webhook"] = setting("webhook", "Receiver type: email, webhook or alertmanager.")
    url: str = setting(REQUIRED, "The http:// or https:// URL notifications are POSTed to.")
    bearer_token_env: str = setting(
        "", "The environment variable holding a token sent as `Authorization: Bearer ...`; empty: none."
    )
    ca_file: str = setting("", "PEM file of the authorities an https URL's certificate is checked against; empty: the system's.")
    timeout: Seconds = setting(Seconds(10.0), "How long one POST may take before it counts as failed (retried).")

    def check(self, where: str) -> None:
        super().check(where)
        if not self.url.startswith(("http://", "https://")) or len(self.url) <= len("https://"):
            raise ConfigError(f"{where}.url", f"must be an http:// or https:// URL, got {self.url!r}")
        if self.timeout <= 0:
            raise ConfigError(f"{where}.timeout", "must be a positive duration")
