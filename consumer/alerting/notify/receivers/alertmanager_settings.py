"""`[[receivers]] type = "alertmanager"`: alerts posted to a Prometheus Alertmanager's v2 API."""

from dataclasses import dataclass
from typing import Literal

from consumer.alerting.notify.settings import DeliverySettings, ReceiverSettings
from logferry.config import REQUIRED, Seconds, setting
from logferry.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class AlertmanagerSettings(ReceiverSettings, DeliverySettings):
    """An Alertmanager that takes over grouping and notifying (routes here should use short intervals)."""

    type: Literal["alertmanager"] = setting("alertmanager", "Receiver type: email, webhook or alertmanager.")
    url: str = setting(REQUIRED, "The Alertmanager's base URL (http://alertmanager:9093); alerts go to /api/v2/alerts.")
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
