"""The plain registry of sink kinds: name -> the module that writes and reads it, and its settings dataclass.

Sink modules are imported only when that kind is used, so the SQLite path never needs opensearch-py; settings
modules import nothing heavy. Each sink module defines `open_sink(config, publish)` and `open_reader(config)` (see
consumer.sinks.base)."""

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, cast

from consumer.sinks.elasticsearch_settings import ElasticsearchSettings
from consumer.sinks.opensearch_settings import OpenSearchSettings
from consumer.sinks.settings import SinkSettings
from consumer.sinks.sqlite_settings import SqliteSettings

if TYPE_CHECKING:
    from consumer.config import ConsumerConfig
    from consumer.sinks.base import IndexReader, PublishDeadLetters, ReaderFactory, Sink, SinkFactory


@dataclass(frozen=True)
class SinkKind:
    """One kind of sink: `module` defines open_sink and open_reader; `settings` declares its `[sink]` keys."""

    module: str
    settings: type[SinkSettings]


SINKS: dict[str, SinkKind] = {
    "sqlite": SinkKind("consumer.sinks.sqlite", SqliteSettings),
    "opensearch": SinkKind("consumer.sinks.opensearch", OpenSearchSettings),
    "elasticsearch": SinkKind("consumer.sinks.elasticsearch", ElasticsearchSettings),
}


def open_sink(config: "ConsumerConfig", publish: "PublishDeadLetters") -> "Sink":
    """The configured sink, not yet set up."""
    factory = cast("SinkFactory", import_module(SINKS[config.sink.type].module).open_sink)
    return factory(config, publish)


def open_reader(config: "ConsumerConfig") -> "IndexReader":
    """The read side of the configured sink."""
    factory = cast("ReaderFactory", import_module(SINKS[config.sink.type].module).open_reader)
    return factory(config)
