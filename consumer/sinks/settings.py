"""The `[sink]` section's base: its `type` chooses the settings dataclass of one sink kind (consumer.sinks.registry).

Each sink kind declares its own keys in its own settings module (`sqlite_settings`, `opensearch_settings`), a frozen
dataclass subclassing `SinkSettings` with a `type` field; adding a sink touches its modules and the registry only.
"""

import builtins
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar, TypeVar

from logferry.config import Tagged

S = TypeVar("S", bound="SinkSettings")


class SinkSettings(Tagged):
    """Where events are indexed; `type` names the sink kind."""

    default_tag: ClassVar[str] = "sqlite"
    noun: ClassVar[str] = "sink"
    type: str

    @classmethod
    def variants(cls) -> Mapping[str, builtins.type]:
        from consumer.sinks.registry import SINKS

        return {name: kind.settings for name, kind in SINKS.items()}

    def check(self, where: str) -> None:
        """Rules across this sink's keys; raise ConfigError naming the key."""

    def local_directory(self) -> Path | None:
        """The directory of an index kept on this host (workers sharing it share their worker-index locks there), or
        None for a remote index."""
        return None


def settings_as(settings: SinkSettings, kind: type[S]) -> S:
    """`settings` as the settings dataclass of one sink kind; TypeError when the config chose another kind (a sink
    module opened for a config of another type: a wiring fault, not a config error)."""
    if not isinstance(settings, kind):
        raise TypeError(f"the [sink] settings are {type(settings).__name__}, not {kind.__name__}")
    return settings
