"""The OpenSearch sink (`[sink] type = "opensearch"`, OpenSearch 2.7 or newer): the shared search-engine sink
(consumer.sinks.engine) over opensearch-py."""

from consumer.config import ConsumerConfig
from consumer.sinks.base import IndexReader, PublishDeadLetters, Sink
from consumer.sinks.engine import EngineSink
from consumer.sinks.opensearch_client import OpenSearchClient
from consumer.sinks.opensearch_settings import OpenSearchSettings
from consumer.sinks.settings import settings_as


def open_sink(config: ConsumerConfig, publish: PublishDeadLetters) -> Sink:
    settings = settings_as(config.sink, OpenSearchSettings)
    return EngineSink(settings, OpenSearchClient(settings), publish)


def open_reader(config: ConsumerConfig) -> IndexReader:
    from consumer.sinks.opensearch_reader import OpenSearchReader

    return OpenSearchReader(settings_as(config.sink, OpenSearchSettings))
