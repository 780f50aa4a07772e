"""Both search engines behind one face for the tests that run against OpenSearch and Elasticsearch alike (the
`engine` fixture of tests/consumer/conftest.py): the node's URL, its kind's scripts, and a consumer config for it."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import elasticsearch, engine_http, opensearch

ENGINE_KINDS = ("opensearch", "elasticsearch")


@dataclass(frozen=True)
class EngineKind:
    """How the tests start and reset a node of one engine (compose/<kind>/local-<kind>)."""

    kind: str
    name: str  # as the sink names it in messages
    start_node: Callable[[dict[str, str] | None], str]
    script: Callable[..., str]  # local_<kind>(*args, env=...)
    run_dir_env: str  # the variable that moves a node's run directory
    settings_env: str  # the variable holding extra node settings


KINDS = {
    "opensearch": EngineKind("opensearch", "OpenSearch", opensearch.start_node, opensearch.local_opensearch,
                             "LOGFERRY_OPENSEARCH_RUN_DIR", "LOGFERRY_OPENSEARCH_SETTINGS"),
    "elasticsearch": EngineKind("elasticsearch", "Elasticsearch", elasticsearch.start_node,
                                elasticsearch.local_elasticsearch, "LOGFERRY_ELASTICSEARCH_RUN_DIR",
                                "LOGFERRY_ELASTICSEARCH_SETTINGS"),
}


@dataclass(frozen=True)
class EngineNode:
    """A running node of `kind` at `url`."""

    kind: str
    url: str

    @property
    def name(self) -> str:
        return KINDS[self.kind].name

    def config(self, directory: Path, bootstrap: str, topic: str, *, group: str, prefix: str, extra: str = "",
               sink_extra: str = "") -> Path:
        """A consumer config file for this engine's sink with its own index prefix (like helpers.opensearch_config)."""
        config = directory / f"consumer-{group}.toml"
        config.write_text(
            f'[consumer]\nlog_format = "json"\nprogress = "off"\nbatch_max_wait = 0.2\nretry_max = 2.0\n{extra}\n'
            f'[kafka]\nbootstrap_servers = "{bootstrap}"\ntopics = ["{topic}"]\ngroup_id = "{group}"\n'
            f'session_timeout_ms = 6000\n'
            f'[sink]\ntype = "{self.kind}"\nurl = "{self.url}"\nindex_prefix = "{prefix}"\nretry_attempts = 2\n{sink_extra}\n'
        )
        return config

    def request(self, method: str, path: str, body: Any = None) -> Any:
        return engine_http.request(self.url, method, path, body)

    def search_hits(self, index: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        return engine_http.search_hits(self.url, index, body)

    def indexed_ids(self, prefix: str) -> list[str]:
        return engine_http.indexed_ids(self.url, prefix)

    def documents(self, index: str, body: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return engine_http.documents(self.url, index, body)

    def exists(self, index: str) -> bool:
        return engine_http.exists(self.url, index)


# `run --once` stops only once the index holds everything below the end offsets recorded at its start
# (consumer/catchup.py), then waits this long for anything newer: the engine tests produce before they run, so a
# longer idle timeout proves nothing more and only adds its seconds to every run.
ONCE_IDLE = "0.5"
