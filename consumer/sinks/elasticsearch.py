"""The Elasticsearch sink (`[sink] type = "elasticsearch"`, Elasticsearch 8): the shared search-engine sink
(consumer.sinks.engine) over the official `elasticsearch` client; the same daily indices, templates and exactly-once
rules as OpenSearch."""

from consumer.config import ConsumerConfig
from consumer.sinks.base import IndexReader, PublishDeadLetters, Sink
from consumer.sinks.elasticsearch_client import ElasticsearchClient
from consumer.sinks.elasticsearch_settings import ElasticsearchSettings
from consumer.sinks.engine import EngineSink
from consumer.sinks.settings import settings_as


def open_sink(config: ConsumerConfig, publish: PublishDeadLetters) -> Sink:
    settings = settings_as(config.sink, ElasticsearchSettings)
    return EngineSink(settings, ElasticsearchClient(settings), publish)


def open_reader(config: ConsumerConfig) -> IndexReader:
    from consumer.sinks.elasticsearch_reader import ElasticsearchReader

    return ElasticsearchReader(settings_as(config.sink, ElasticsearchSettings))
