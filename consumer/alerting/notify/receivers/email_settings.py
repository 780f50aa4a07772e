"""`[[receivers]] type = "email"`: notifications as mail through an SMTP server."""

from dataclasses import dataclass
from typing import Literal

from consumer.alerting.notify.settings import DeliverySettings, ReceiverSettings
from logferry.config import REQUIRED, Seconds, setting
from logferry.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class EmailSettings(ReceiverSettings, DeliverySettings):
    """An SMTP server and the addresses notifications go to."""

    type: Literal["email"] = setting("email", "Receiver type: email, webhook or alertmanager.")
    host: str = setting(REQUIRED, "The SMTP server's host name or address.")
    port: int = setting(0, "The SMTP server's port; 0: 587 with starttls, 465 with tls, 25 with none.")
    security: Literal["starttls", "tls", "none"] = setting(
        "starttls",
        "starttls: upgrade the connection with STARTTLS (refused if the server does not offer it); tls: implicit TLS "
        "from the first byte (SMTPS); none: plain text (only for a relay on this host).",
    )
    ca_file: str = setting("", "PEM file of the authorities the server's certificate is checked against; empty: the system's.")
    username: str = setting("", "The SMTP user; empty: no authentication.")
    password_env: str = setting("", "The environment variable holding the SMTP password (never the password itself).")
    sender: str = setting(REQUIRED, "The From address, `alerts@example.com` or `Logferry <alerts@example.com>`.")
    to: list[str] = setting(REQUIRED, "The addresses notifications are sent to.")
    subject_prefix: str = setting("[logferry]", "Text at the start of every subject.")
    timeout: Seconds = setting(Seconds(30.0), "How long one SMTP exchange may take before it counts as failed (retried).")

    def check(self, where: str) -> None:
        super().check(where)
        if not self.host.strip():
            raise ConfigError(f"{where}.host", "must name the SMTP server")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"{where}.port", f"must be between 1 and 65535, got {self.port}")
        if "@" not in self.sender:
            raise ConfigError(f"{where}.sender", f"must be a mail address, got {self.sender!r}")
        if not self.to:
            raise ConfigError(f"{where}.to", "must list at least one address")
        for i, address in enumerate(self.to):
            if "@" not in address or any(c in address for c in "\r\n,"):
                raise ConfigError(f"{where}.to[{i}]", f"must be one mail address, got {address!r}")
        if self.username and not self.password_env:
            raise ConfigError(f"{where}.password_env", "must name the environment variable of the password when username is set")
        if self.password_env and not self.username:
            raise ConfigError(f"{where}.username", "must be set when password_env is")
        if self.timeout <= 0:
            raise ConfigError(f"{where}.timeout", "must be a positive duration")

    @property
    def effective_port(self) -> int:
        return self.port or {"starttls": 587, "tls": 465, "none": 25}[self.security]
