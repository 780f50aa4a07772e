"""The plain registry of sink kinds: name -> module. Modules are imported only when that kind is used,
so the SQLite path never needs opensearch-py. Each module defines `open_sink(config, publish)` and
`open_reader(config)` (see consumer.sinks.base)."""

from importlib import import_module
from typing import cast

from consumer.config import ConsumerConfig
from consumer.sinks.base import IndexReader, PublishDeadLetters, ReaderFactory, Sink, SinkFactory

SINKS: dict[str, str] = {
    "sqlite": "consumer.sinks.sqlite",
    "opensearch": "consumer.sinks.opensearch",
}


def open_sink(config: ConsumerConfig, publish: PublishDeadLetters) -> Sink:
    """The configured sink, not yet set up."""
    factory = cast(SinkFactory, import_module(SINKS[config.sink.type]).open_sink)
    return factory(config, publish)


def open_reader(config: ConsumerConfig) -> IndexReader:
    """The read side of the configured sink."""
    factory = cast(ReaderFactory, import_module(SINKS[config.sink.type]).open_reader)
    return factory(config)
