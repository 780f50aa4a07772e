"""Reading the Elasticsearch index: the shared search-engine reader (consumer.sinks.engine_reader)."""

from consumer.sinks.elasticsearch_client import ElasticsearchClient
from consumer.sinks.elasticsearch_settings import ElasticsearchSettings
from consumer.sinks.engine_reader import EngineReader


class ElasticsearchReader(EngineReader):
    """Search, totals, conflicts, the oldest event and the dead letters of an Elasticsearch index."""

    def __init__(self, settings: ElasticsearchSettings) -> None:
        super().__init__(settings, ElasticsearchClient(settings))
