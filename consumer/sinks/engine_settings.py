"""The keys every search-engine sink has (OpenSearch, Elasticsearch); each kind subclasses it with its `type`."""

import os
import re
from dataclasses import dataclass

from consumer.sinks.settings import SinkSettings
from logferry.config import Seconds, setting
from logferry.errors import ConfigError
from logferry.logs import register_secret

_URL = re.compile(r"^https?://[^/\s:]+(:[0-9]{1,5})?(/.*)?$")


@dataclass(frozen=True, kw_only=True)
class EngineSettings(SinkSettings):
    """A search-engine node or cluster, written with bulk requests into daily indices."""

    url: str = setting("http://127.0.0.1:9200", "The node or cluster URL.")
    index_prefix: str = setting("logferry", "Indices are <prefix>-events-YYYY.MM.DD and <prefix>-deadletters.")
    number_of_replicas: int = setting(0, "Replicas per shard of new indices.")
    username_env: str = setting("", "Environment variable with the user name.")
    password_env: str = setting("", "Environment variable with the password.")
    ca_certs: str = setting("", "CA certificate file (PEM) for https; empty for the system store.")
    # Attempts x timeout bounds how long a rebalance may wait for a write in flight: keep it well under max.poll.interval.
    request_timeout: Seconds = setting(30.0, "Seconds (or a duration such as \"30s\") one bulk request may take.")
    retry_attempts: int = setting(3, "Attempts of one bulk (429, 5xx, connection errors) before the batch waits.")
    bulk_concurrency: int = setting(2, "Bulk requests a batch is split into and sent at once.")
    retention: Seconds = setting(0.0, "How long events are kept (\"14d\"): older daily indices are deleted; 0 keeps all.")
    deadletter_retention: Seconds = setting(0.0, "How long dead letters are kept (\"30d\"); 0 keeps all.")
    retention_interval: Seconds = setting(600.0, "Seconds between two retention sweeps (the first runs at start).")

    def credentials(self) -> tuple[str, str] | None:
        """(user, password) from the environment variables the settings name, the password never logged; None when
        either is unset (no authentication)."""
        user, password = os.environ.get(self.username_env), os.environ.get(self.password_env)
        register_secret(password)
        return (user, password) if user and password is not None else None

    def check(self, where: str) -> None:
        if not _URL.match(self.url):
            raise ConfigError(f"{where}.url", f"{self.url!r} is not an http:// or https:// URL")
        if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,100}", self.index_prefix):
            raise ConfigError(f"{where}.index_prefix", "must be lower-case letters, digits, '_', '.' or '-'")
        if self.retry_attempts < 1:
            raise ConfigError(f"{where}.retry_attempts", "must be at least 1")
        if not 1 <= self.bulk_concurrency <= 16:
            raise ConfigError(f"{where}.bulk_concurrency", "must be from 1 to 16")
        if self.request_timeout <= 0:
            raise ConfigError(f"{where}.request_timeout", "must be greater than 0")
        for name in ("retention", "deadletter_retention"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{where}.{name}", "must be 0 (keep all) or more")
        if self.retention and self.retention < 86_400:
            # Whole daily indices are dropped: less than a day would delete today's index.
            raise ConfigError(f"{where}.retention", "must be 0 (keep all) or at least one day (\"1d\")")
        if self.retention_interval <= 0:
            raise ConfigError(f"{where}.retention_interval", "must be greater than 0")
