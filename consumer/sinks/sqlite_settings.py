"""`[sink] type = "sqlite"`: the embedded index, one database file."""

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from consumer.sinks.settings import SinkSettings
from logferry.config import Seconds, setting
from logferry.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class SqliteSettings(SinkSettings):
    """The SQLite sink (the default)."""

    type: Literal["sqlite"] = setting("sqlite", "Sink type: sqlite (embedded, the default), opensearch, ...")
    path: str = setting("/var/lib/logferry/logs.db", "The database file; created readable by its owner only.")
    retention: Seconds = setting(
        Seconds(0.0),
        "How long events are kept, by their own timestamp (an event older than this is deleted, with its full-text "
        "entries, in small batches between writes); e.g. \"14d\". 0 keeps them forever.",
    )
    deadletter_retention: Seconds = setting(
        Seconds(0.0),
        "How long dead letters are kept, by the time they were received (they may have no valid timestamp of their "
        "own); e.g. \"30d\". 0 keeps them forever.",
    )

    def check(self, where: str) -> None:
        if not self.path.strip():
            raise ConfigError(f"{where}.path", "must name a database file")
        if self.retention < 0:
            raise ConfigError(f"{where}.retention", "must be 0 (keep forever) or a positive duration")
        if self.deadletter_retention < 0:
            raise ConfigError(f"{where}.deadletter_retention", "must be 0 (keep forever) or a positive duration")

    def local_directory(self) -> Path | None:
        return Path(self.path).resolve().parent
