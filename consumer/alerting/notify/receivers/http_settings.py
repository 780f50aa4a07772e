"""The keys the receivers that POST over HTTP share (`webhook`, `alertmanager`): where to, the token, the authorities
an https URL is checked against, and how long one POST may take."""

from dataclasses import dataclass

from consumer.alerting.notify.settings import DeliverySettings
from logferry.config import REQUIRED, Seconds, setting
from logferry.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class HttpPostSettings(DeliverySettings):
    """A receiver reached by an HTTP POST; each kind says in its own `url` what the URL is."""

    url: str = setting(REQUIRED, "The http:// or https:// URL notifications are POSTed to.")
    bearer_token_env: str = setting(
        "", "The environment variable holding a token sent as `Authorization: Bearer ...`; empty: none."
    )
    ca_file: str = setting("", "PEM file of the authorities an https URL's certificate is checked against; empty: the system's.")
    timeout: Seconds = setting(Seconds(10.0), "How long one POST may take before it counts as failed (retried).")

    def check_http(self, where: str) -> None:
        """The URL's scheme and the timeout; raise ConfigError naming the key."""
        if not self.url.startswith(("http://", "https://")) or len(self.url) <= len("https://"):
            raise ConfigError(f"{where}.url", f"must be an http:// or https:// URL, got {self.url!r}")
        if self.timeout <= 0:
            raise ConfigError(f"{where}.timeout", "must be a positive duration")
