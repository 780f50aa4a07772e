"""The consumer's configuration, declared once: every key with its type, default and description.

    [consumer]   process-wide settings (batching, limits, logs, metrics)
    [kafka]      where events come from and the consumer group
    [sink]       where events are indexed: `type` chooses the sink kind and its keys (consumer.sinks.registry)
    [health]     when /health answers 503
    [console]    what `consumer serve` shows beside the index (consumer.console.settings)

`load_config(path)` reads and validates the whole file before anything starts; it raises ConfigError
with one sentence naming the key and the problem.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from consumer.console.settings import ConsoleSettings
from consumer.sinks.settings import SinkSettings
from consumer.sinks.sqlite_settings import SqliteSettings
from logferry.config import Milliseconds, Seconds, load, read_toml, setting
from logferry.errors import ConfigError
from logferry.health import HealthSettings
from logferry.kafka import KafkaConnection

_TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}")


@dataclass(frozen=True, kw_only=True)
class ConsumerSettings:
    """Process-wide settings."""

    batch_max_events: int = setting(20_000, "Most events written to the sink in one batch (one transaction or bulk request).")
    batch_max_bytes: int = setting(32 * 1_048_576, "Most record bytes held in one batch; more pauses consumption.")
    batch_max_wait: Seconds = setting(0.5, "Most seconds an event waits in a partly filled batch before it is written.")
    batch_linger: Seconds = setting(
        0.1, "Seconds a partly filled batch waits for more records once the worker has caught up (so a line is "
        "searchable well within a second); a backlog is still written in full batches. At most batch_max_wait."
    )
    max_record_bytes: int = setting(1_048_576, "Larger records go to the dead letters instead of the index.")
    deadletter_raw_bytes: int = setting(
        900_000, "Most raw bytes of a record kept in a dead letter (the rest is cut); below the broker's message.max.bytes."
    )
    retry_initial: Seconds = setting(0.5, "Seconds before the first retry of a failed write; doubles each time, with jitter.")
    retry_max: Seconds = setting(30.0, "Most seconds between retries of a failed write.")
    shutdown_timeout: Seconds = setting(30.0, "Seconds a stopping consumer keeps trying to write its last batch.")
    log_level: Literal["debug", "info", "warning", "error"] = setting("info", "Level of the consumer's own logs.")
    log_format: Literal["auto", "json", "text"] = setting("auto", "Own logs as JSON lines, text, or text on a terminal.")
    metrics_address: str = setting("", "host:port for the Prometheus /metrics and /health endpoints; empty for off.")
    progress: Literal["auto", "bar", "log", "off"] = setting(
        "auto", "Progress report while running: a bar on a terminal (auto), plain log lines, or none."
    )
    worker_index: int = setting(
        -1, "Which worker of the group on this host this is, part of the derived group.instance.id; -1: the lowest "
        "number no running worker of the group on this host holds (lock files beside the SQLite index, else in the "
        "temporary directory)."
    )

    def check(self, where: str) -> None:
        for name in ("batch_max_events", "batch_max_bytes", "max_record_bytes", "deadletter_raw_bytes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{where}.{name}", "must be at least 1")
        for name in ("batch_max_wait", "batch_linger", "retry_initial", "retry_max", "shutdown_timeout"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{where}.{name}", "must be greater than 0")
        if self.worker_index < -1:
            raise ConfigError(f"{where}.worker_index", "must be -1 (automatic) or a number from 0")
        if self.metrics_address:
            host, _, port = self.metrics_address.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ConfigError(
                    f"{where}.metrics_address", f"{self.metrics_address!r} is not a host:port address with a port from 1 to 65535"
                )


@dataclass(frozen=True, kw_only=True)
class ConsumerKafka(KafkaConnection):
    """Where events come from, on top of the connection settings."""

    topics: list[str] = setting(
        ["logs"], "Topics to index; an entry starting with ^ is a regular expression (librdkafka's pattern subscription), "
        "e.g. \"^logs\\\\..+\" for every host's topic. Dead-letter topics are never indexed, even when a pattern matches them."
    )
    host_topic_prefix: str = setting(
        "", "Per-host isolation: topics are <prefix><host-id> or <prefix><host-id>.<name> (e.g. prefix \"logs.\"); an "
        "event whose resource host.id is not its topic's <host-id>, or from a topic without the prefix, is dead-lettered. "
        "Empty for off."
    )
    group_id: str = setting("logferry-indexer", "Consumer group id; workers with the same id share the partitions.")
    static_membership: bool = setting(
        True, "Long-running workers join as static members (group.instance.id), so one restarted within "
        "session_timeout_ms takes its partitions back without a rebalance; `run --once` joins as a dynamic member."
    )
    group_instance_id: str = setting(
        "", "Static membership id (group.instance.id) instead of the derived one, unique per worker; also used by "
        "`run --once`. Empty: logferry-<host>-<host id>-<worker_index>."
    )
    session_timeout_ms: Milliseconds = setting(45_000, "Milliseconds without heartbeats after which the group drops a worker.")
    max_poll_interval_ms: Milliseconds = setting(
        300_000, "Most milliseconds between polls; the worker keeps polling even while paused."
    )
    deadletter_suffix: str = setting(".deadletter", "Dead letters of topic T go to topic T + this suffix.")
    create_deadletter_topics: bool = setting(True, "Create missing dead-letter topics at start (1 partition).")

    def check(self, where: str) -> None:
        super().check(where)
        if not self.topics:
            raise ConfigError(f"{where}.topics", "must list at least one topic")
        for i, topic in enumerate(self.topics):
            if topic.startswith("^"):
                try:
                    re.compile(topic)
                except re.error as error:
                    raise ConfigError(f"{where}.topics[{i}]", f"{topic!r} is not a valid regular expression: {error}") from None
                continue
            if not _TOPIC.fullmatch(topic):
                raise ConfigError(f"{where}.topics[{i}]", f"{topic!r} is not a valid Kafka topic name")
            if not _TOPIC.fullmatch(topic + self.deadletter_suffix):
                raise ConfigError(f"{where}.deadletter_suffix", f"{self.deadletter_suffix!r} does not make a valid topic name")
        if not self.deadletter_suffix:
            raise ConfigError(f"{where}.deadletter_suffix", "must not be empty (dead letters would go back into the topic)")
        if self.host_topic_prefix and not _TOPIC.fullmatch(self.host_topic_prefix):
            raise ConfigError(f"{where}.host_topic_prefix", f"{self.host_topic_prefix!r} is not the start of a valid topic name")
        if not self.group_id.strip():
            raise ConfigError(f"{where}.group_id", "must not be empty")
        if self.group_instance_id and not _TOPIC.fullmatch(self.group_instance_id):
            raise ConfigError(f"{where}.group_instance_id", "must be 1 to 249 letters, digits, '.', '_' or '-'")
        if self.group_instance_id and not self.static_membership:
            raise ConfigError(f"{where}.group_instance_id", "is set while static_membership is false")
        if self.session_timeout_ms < 1000:
            raise ConfigError(f"{where}.session_timeout_ms", "must be at least 1000")
        if self.max_poll_interval_ms < self.session_timeout_ms:
            raise ConfigError(f"{where}.max_poll_interval_ms", "must be at least session_timeout_ms")

    def deadletter_topic(self, topic: str) -> str:
        return topic + self.deadletter_suffix

    def literal_topics(self) -> list[str]:
        """The `topics` entries that name one topic (not patterns)."""
        return [t for t in self.topics if not t.startswith("^")]

    def indexes(self, topic: str) -> bool:
        """Whether records of `topic` are indexed: it is listed, or a pattern matches it and it is no dead-letter topic
        (a pattern such as ^logs\\. also matches logs.a.deadletter: indexing that would dead-letter dead letters)."""
        if topic in self.topics:
            return True
        if topic.endswith(self.deadletter_suffix):
            return False
        return any(re.search(t, topic) for t in self.topics if t.startswith("^"))

    def topic_host(self, topic: str) -> str | None:
        """With host_topic_prefix: the host id a topic belongs to (<prefix><host-id>[.<name>]); None without one."""
        if not topic.startswith(self.host_topic_prefix):
            return None
        host = topic[len(self.host_topic_prefix):].split(".", 1)[0]
        return host or None


@dataclass(frozen=True, kw_only=True)
class ConsumerConfig:
    """The whole consumer config file."""

    consumer: ConsumerSettings = setting(None, "Process-wide settings.", factory=ConsumerSettings)
    kafka: ConsumerKafka = setting(None, "Kafka source and consumer group.", factory=ConsumerKafka)
    sink: SinkSettings = setting(None, "Where events are indexed; `type` chooses the sink and its keys.", factory=SqliteSettings)
    health: HealthSettings = setting(None, "When /health answers 503.", factory=HealthSettings)
    console: ConsoleSettings = setting(None, "The web console (`consumer serve`).", factory=ConsoleSettings)


def load_config(path: str | Path) -> ConsumerConfig:
    """The validated config in the TOML file at `path`."""
    return parse_config(read_toml(path))


def parse_config(table: dict[str, Any]) -> ConsumerConfig:
    """The validated config in an already parsed TOML table."""
    return load(ConsumerConfig, table)
