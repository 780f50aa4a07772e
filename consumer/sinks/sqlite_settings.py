"""`[sink] type = "sqlite"`: the embedded index, one database file."""

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from consumer.sinks.settings import SinkSettings
from logferry.config import setting
from logferry.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class SqliteSettings(SinkSettings):
    """The SQLite sink (the default)."""

    type: Literal["sqlite"] = setting("sqlite", "Sink type: sqlite (embedded, the default), opensearch, ...")
    path: str = setting("/var/lib/logferry/logs.db", "The database file; created readable by its owner only.")

    def check(self, where: str) -> None:
        if not self.path.strip():
            raise ConfigError(f"{where}.path", "must name a database file")

    def local_directory(self) -> Path | None:
        return Path(self.path).resolve().parent
