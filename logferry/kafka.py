"""Kafka connection settings shared by the shipper and the consumer, and their librdkafka form.

Secrets never sit in the config file: `sasl_password_env` names the environment variable holding the
password. Any other librdkafka property can be passed through `[kafka.librdkafka]`; a value written as
`env:NAME` is read from the environment variable NAME.
"""

import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from logferry.config import Seconds, setting
from logferry.errors import ConfigError
from logferry.logs import redact, register_secret

_HOST_PORT = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):([0-9]{1,5})$")
_SECRET_WORDS = ("password", "secret", "key.pem", "token")


@dataclass(frozen=True, kw_only=True)
class KafkaConnection:
    """How to reach the Kafka cluster."""

    bootstrap_servers: str = setting("127.0.0.1:9092", "Comma-separated host:port list of brokers to bootstrap from.")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = setting(
        "PLAINTEXT", "How to talk to the brokers."
    )
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = setting(
        "SCRAM-SHA-512", "SASL mechanism when security_protocol is SASL_*."
    )
    sasl_username_env: str = setting("LOGFERRY_KAFKA_USERNAME", "Environment variable that holds the SASL user name.")
    sasl_password_env: str = setting("LOGFERRY_KAFKA_PASSWORD", "Environment variable that holds the SASL password.")
    ssl_ca_location: str = setting("", "CA certificate file (PEM) to verify the brokers with; empty for the system store.")
    librdkafka: dict[str, str | int | bool] = setting({}, "Extra librdkafka properties; a value 'env:NAME' is read from $NAME.")
    connect_timeout: Seconds = setting(
        60.0,
        "Seconds `run --once` waits for a broker to answer (or, once running, to acknowledge again) before it fails "
        "with exit 1; a long-running process keeps retrying for ever and reports the outage in /health.",
    )

    def check(self, where: str) -> None:
        if self.connect_timeout <= 0:
            raise ConfigError(f"{where}.connect_timeout", "must be greater than 0")
        for server in self.bootstrap_servers.split(","):
            match = _HOST_PORT.match(server.strip())
            if match is None or not 0 < int(match.group(2)) < 65536:
                raise ConfigError(
                    f"{where}.bootstrap_servers",
                    f"{server.strip()!r} is not a host:port address with a port from 1 to 65535",
                )

    def client_config(self) -> dict[str, Any]:
        """librdkafka properties for this connection, secrets resolved from the environment."""
        config: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
            # librdkafka's own log lines become our structured records (served by poll()/consume()), never raw stderr.
            "logger": CLIENT_LOG,
        }
        if self.security_protocol.startswith("SASL"):
            user = os.environ.get(self.sasl_username_env)
            password = os.environ.get(self.sasl_password_env)
            if not user or password is None:
                raise ConfigError(
                    "kafka.sasl_password_env",
                    f"SASL needs the environment variables {self.sasl_username_env} and {self.sasl_password_env}",
                )
            register_secret(password)
            config.update({"sasl.mechanism": self.sasl_mechanism, "sasl.username": user, "sasl.password": password})
        if self.ssl_ca_location:
            config["ssl.ca.location"] = self.ssl_ca_location
        for name, value in self.librdkafka.items():
            if isinstance(value, str) and value.startswith("env:"):
                resolved = os.environ.get(value[4:])
                if resolved is None:
                    raise ConfigError(f"kafka.librdkafka.{name}", f"environment variable {value[4:]} is not set")
                register_secret(resolved)
                config[name] = resolved
                continue
            if any(word in name for word in _SECRET_WORDS) and isinstance(value, str):
                register_secret(value)
            config[name] = value
        return config


def redacted(config: dict[str, Any]) -> dict[str, Any]:
    """A copy of librdkafka `config` fit for printing: secret-looking values replaced by ***."""
    return {k: ("***" if any(w in k for w in _SECRET_WORDS) else v) for k, v in config.items()}


# librdkafka error codes that no retry can cure: the credentials or the permissions are wrong.
_REFUSALS = {
    -169: "authentication failed",  # _AUTHENTICATION (SASL handshake refused, bad password)
    58: "authentication failed",  # SASL_AUTHENTICATION_FAILED
    29: "not authorized to use the topic",  # TOPIC_AUTHORIZATION_FAILED
    30: "not authorized to use the consumer group",  # GROUP_AUTHORIZATION_FAILED
    31: "not authorized on the cluster",  # CLUSTER_AUTHORIZATION_FAILED
}


def refusal(error: Any) -> str | None:
    """A sentence when `error` (a confluent_kafka KafkaError) means Kafka refuses us for good, else None.

    Such errors are not retriable: the client would retry for ever while nothing changes, so callers stop
    with this sentence instead. The message never contains the password (librdkafka does not print it).
    """
    try:
        code = error.code()
    except AttributeError:
        return None
    reason = _REFUSALS.get(code)
    if reason is None:
        return None
    return f"Kafka refused the connection: {reason} ({redact(error.str())})"


class ClientLog:
    """librdkafka's log lines as our structured records, at the level confluent-kafka maps the syslog level to.

    confluent-kafka calls `log(level, "%s [%s] %s", facility, client, text)` on the object given as the `logger`
    property (syslog 0-2 critical, 3 error, 4 warning, 5-6 info, 7 debug). Repeated lines are thinned by
    logferry.logs.RepeatedClientLines, keyed on the facility and the text.
    """

    def __init__(self, name: str = "librdkafka") -> None:
        self.logger = logging.getLogger(name)

    def log(self, level: int, _format: str, facility: str = "", client: str = "", text: str = "", *_rest: object) -> None:
        if self.logger.isEnabledFor(level):
            self.logger.log(
                level, "The Kafka client logged a line.", extra={"facility": facility, "client": client, "detail": text}
            )


CLIENT_LOG = ClientLog()


def await_kafka(
    servers: str, list_topics: Callable[[float], object], timeout: float, should_stop: Callable[[], bool], *,
    serve: Callable[[], object] = lambda: None, detail: Callable[[], str] = lambda: "",
) -> str | None:
    """Ask for metadata until a broker answers (None), a stop is requested (None) or `timeout` seconds pass.

    In the last case, a sentence saying so, for the one line of a failing `run --once`: the last error the client
    reported (`detail()`), else the metadata request's. Asked in slices of at most a second, so a stop request is
    honoured at once; `serve()` runs between them (it delivers the client's log lines and error callbacks).
    """
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        remaining = deadline - time.monotonic()
        try:
            list_topics(max(0.1, min(1.0, remaining)))
            return None
        except Exception as error:  # KafkaException, or anything the client raises: not reachable yet
            last = str(error.args[0].str() if error.args and hasattr(error.args[0], "str") else error)
        serve()
        if should_stop():
            return None
        if time.monotonic() >= deadline:
            why = detail() or last
            return f"no Kafka broker at {servers} answered within {timeout:g} s (kafka.connect_timeout): {redact(why)}"
