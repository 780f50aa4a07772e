"""The OpenSearch adapter of consumer.sinks.engine_client, over opensearch-py."""

from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.exceptions import TransportError

from consumer.sinks.engine_client import FILTER_PATH, EngineRequestError
from consumer.sinks.engine_settings import EngineSettings

_MAYBE_NO_INDEX = {"ignore_unavailable": "true", "allow_no_indices": "true"}


def make_client(settings: EngineSettings) -> OpenSearch:
    credentials = settings.credentials()
    options: dict[str, Any] = {"timeout": settings.request_timeout, "max_retries": 0, "retry_on_timeout": False,
                               "pool_maxsize": max(4, settings.bulk_concurrency * 2)}
    if credentials is not None:
        options["http_auth"] = credentials
    if settings.url.startswith("https://"):
        options.update(use_ssl=True, verify_certs=True)
        if settings.ca_certs:
            options["ca_certs"] = settings.ca_certs
    return OpenSearch(hosts=[settings.url], **options)


def _error(error: Exception) -> EngineRequestError:
    if isinstance(error, OpenSearchConnectionError):
        return EngineRequestError(str(error), None)
    status = getattr(error, "status_code", None)
    return EngineRequestError(str(error), status if isinstance(status, int) else None)


class OpenSearchClient:
    """EngineClient for OpenSearch (2.7 or newer: flat_object)."""

    name = "OpenSearch"
    flat_field: dict[str, Any] = {"type": "flat_object"}

    def __init__(self, settings: EngineSettings) -> None:
        self.client = make_client(settings)

    def bulk(self, body: bytes, refresh: bool = False) -> dict[str, Any]:
        params = {"filter_path": FILTER_PATH, **({"refresh": "wait_for"} if refresh else {})}
        try:
            response: dict[str, Any] = self.client.bulk(body=body, params=params)
        except (TransportError, OpenSearchConnectionError) as error:
            raise _error(error) from error
        return response

    def mget(self, docs: list[dict[str, str]]) -> list[dict[str, Any]]:
        try:
            response = self.client.mget(body={"docs": docs}, params={"realtime": "true"})
        except (TransportError, OpenSearchConnectionError) as error:
            raise _error(error) from error
        found: list[dict[str, Any]] = response["docs"]
        return found

    def get(self, index: str, doc_id: str) -> dict[str, Any] | None:
        try:
            response = self.client.get(index=index, id=doc_id)
        except (TransportError, OpenSearchConnectionError) as error:
            if getattr(error, "status_code", None) == 404:
                return None
            raise _error(error) from error
        source: dict[str, Any] | None = response.get("_source") if response.get("found") else None
        return source

    def search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response: dict[str, Any] = self.client.search(index=index, body=body, params=_MAYBE_NO_INDEX)
        except (TransportError, OpenSearchConnectionError) as error:
            raise _error(error) from error
        return response

    def count(self, index: str, query: dict[str, Any] | None = None) -> int:
        try:
            response = self.client.count(index=index, body={"query": query} if query else None, params=_MAYBE_NO_INDEX)
        except (TransportError, OpenSearchConnectionError) as error:
            raise _error(error) from error
        return int(response["count"])

    def template_version(self, name: str) -> int | None:
        try:
            response = self.client.indices.get_index_template(name=name)
        except (TransportError, OpenSearchConnectionError) as error:
            if getattr(error, "status_code", None) == 404:
                return None
            raise _error(error) from error
        return _template_version(response)

    def put_template(self, name: str, body: dict[str, Any]) -> None:
        try:
            self.client.indices.put_index_template(name=name, body=body)
        except (TransportError, OpenSearchConnectionError) as error:
            raise _error(error) from error

    def indices(self, pattern: str) -> list[str]:
        try:
            rows = self.client.cat.indices(index=pattern, params={"format": "json", "h": "index",
                                                                  "expand_wildcards": "open,closed"})
        except (TransportError, OpenSearchConnectionError) as error:
            if getattr(error, "status_code", None) == 404:
                return []
            raise _error(error) from error
        return [str(row["index"]) for row in rows]

    def delete_index(self, name: str) -> None:
        try:
            self.client.indices.delete(index=name, params={"ignore_unavailable": "true"})
        except (TransportError, OpenSearchConnectionError) as error:
            raise _error(error) from error

    def close(self) -> None:
        self.client.close()


def _template_version(response: dict[str, Any]) -> int | None:
    """`_meta.version` of the one template in a GET _index_template answer."""
    for entry in response.get("index_templates", []):
        meta = entry.get("index_template", {}).get("_meta") or {}
        version = meta.get("version")
        return version if isinstance(version, int) else None
    return None
