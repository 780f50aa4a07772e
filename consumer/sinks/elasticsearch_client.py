"""The Elasticsearch adapter of consumer.sinks.engine_client, over the official `elasticsearch` client (8.x)."""

import logging
from typing import Any, cast

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch, NotFoundError

from consumer.sinks.engine_client import FILTER_PATH, EngineRequestError
from consumer.sinks.engine_settings import EngineSettings

# The client logs every request at INFO; the consumer's own logs say what matters.
logging.getLogger("elastic_transport").setLevel(logging.WARNING)

# `flattened` indexes every leaf as a keyword; longer values are kept in _source, not indexed (the sink moves the
# longest out of the field before, see engine_schema.MAX_TERM_CHARS). depth_limit: the flat field takes what the
# sink's own depth check lets through.
FLAT_FIELD: dict[str, Any] = {"type": "flattened", "ignore_above": 8191, "depth_limit": 1000}


def make_client(settings: EngineSettings) -> Elasticsearch:
    credentials = settings.credentials()
    options: dict[str, Any] = {"request_timeout": settings.request_timeout, "max_retries": 0, "retry_on_timeout": False,
                               "connections_per_node": max(4, settings.bulk_concurrency * 2)}
    if credentials is not None:
        options["basic_auth"] = credentials
    if settings.url.startswith("https://"):
        options["verify_certs"] = True
        if settings.ca_certs:
            options["ca_certs"] = settings.ca_certs
    return Elasticsearch(hosts=[settings.url], **options)


def _error(error: Exception) -> EngineRequestError:
    if isinstance(error, ApiError):
        return EngineRequestError(str(error), int(error.meta.status))
    return EngineRequestError(str(error), None)


class ElasticsearchClient:
    """EngineClient for Elasticsearch 8."""

    name = "Elasticsearch"
    flat_field = FLAT_FIELD

    def __init__(self, settings: EngineSettings) -> None:
        self.client = make_client(settings)

    def bulk(self, body: bytes, refresh: bool = False) -> dict[str, Any]:
        try:
            response = self.client.bulk(operations=cast(Any, body), filter_path=FILTER_PATH,
                                        refresh="wait_for" if refresh else None)
        except (ApiError, TransportError) as error:
            raise _error(error) from error
        return dict(response.body)

    def mget(self, docs: list[dict[str, str]]) -> list[dict[str, Any]]:
        try:
            response = self.client.mget(docs=cast(Any, docs), realtime=True)
        except (ApiError, TransportError) as error:
            raise _error(error) from error
        found: list[dict[str, Any]] = response.body["docs"]
        return found

    def get(self, index: str, doc_id: str) -> dict[str, Any] | None:
        try:
            response = self.client.get(index=index, id=doc_id)
        except NotFoundError:
            return None
        except (ApiError, TransportError) as error:
            raise _error(error) from error
        source: dict[str, Any] | None = response.body.get("_source") if response.body.get("found") else None
        return source

    def search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self.client.search(index=index, body=body, ignore_unavailable=True, allow_no_indices=True)
        except (ApiError, TransportError) as error:
            raise _error(error) from error
        return dict(response.body)

    def count(self, index: str, query: dict[str, Any] | None = None) -> int:
        try:
            response = self.client.count(index=index, query=query, ignore_unavailable=True, allow_no_indices=True)
        except (ApiError, TransportError) as error:
            raise _error(error) from error
        return int(response.body["count"])

    def template_version(self, name: str) -> int | None:
        try:
            response = self.client.indices.get_index_template(name=name)
        except NotFoundError:
            return None
        except (ApiError, TransportError) as error:
            raise _error(error) from error
        for entry in response.body.get("index_templates", []):
            version = (entry.get("index_template", {}).get("_meta") or {}).get("version")
            return version if isinstance(version, int) else None
        return None

    def put_template(self, name: str, body: dict[str, Any]) -> None:
        try:
            self.client.indices.put_index_template(name=name, body=body)
        except (ApiError, TransportError) as error:
            raise _error(error) from error

    def indices(self, pattern: str) -> list[str]:
        try:
            rows = self.client.cat.indices(index=pattern, format="json", h="index", expand_wildcards="open,closed")
        except NotFoundError:
            return []
        except (ApiError, TransportError) as error:
            raise _error(error) from error
        return [str(row["index"]) for row in cast(list[dict[str, Any]], rows.body)]

    def delete_index(self, name: str) -> None:
        try:
            self.client.indices.delete(index=name, ignore_unavailable=True)
        except (ApiError, TransportError) as error:
            raise _error(error) from error

    def close(self) -> None:
        self.client.close()
