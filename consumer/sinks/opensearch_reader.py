"""Reading the OpenSearch index: the shared search-engine reader (consumer.sinks.engine_reader) over opensearch-py."""

from consumer.sinks.engine_reader import EngineReader
from consumer.sinks.opensearch_client import OpenSearchClient
from consumer.sinks.opensearch_settings import OpenSearchSettings


class OpenSearchReader(EngineReader):
    """Search, totals, conflicts, the oldest event and the dead letters of an OpenSearch index."""

    def __init__(self, settings: OpenSearchSettings) -> None:
        super().__init__(settings, OpenSearchClient(settings))
