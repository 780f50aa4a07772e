"""Fixtures of the consumer's tests: a database path, a config for a fresh group on the test's topic, and the search
engines' nodes."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.consumer.helpers import sqlite_config, stop_started
from tests.support.elasticsearch import elasticsearch_node
from tests.support.engines import ENGINE_KINDS, EngineNode
from tests.support.opensearch import opensearch_node


@pytest.fixture(autouse=True)
def no_consumer_outlives_its_test() -> Iterator[None]:
    yield
    stop_started()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "index" / "logs.db"


@pytest.fixture
def group_id() -> str:
    return f"indexer-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def sqlite_consumer_config(db_path: Path, kafka_bootstrap: str, kafka_topic: str, group_id: str) -> Path:
    """A consumer config file: the test's topic, a fresh group, the SQLite sink at `db_path`."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    return sqlite_config(db_path, kafka_bootstrap, kafka_topic, group_id)


@pytest.fixture(scope="session")
def opensearch_url() -> Iterator[str]:
    """The URL of a real OpenSearch node (see tests/support/opensearch.py). Never skips."""
    with opensearch_node() as url:
        yield url


@pytest.fixture(scope="session")
def elasticsearch_url() -> Iterator[str]:
    """The URL of a real Elasticsearch node (see tests/support/elasticsearch.py). Never skips."""
    with elasticsearch_node() as url:
        yield url


@pytest.fixture(params=[pytest.param(kind, marks=getattr(pytest.mark, kind)) for kind in ENGINE_KINDS])
def engine(request: pytest.FixtureRequest) -> EngineNode:
    """A real node of each search engine in turn (the test runs once per engine)."""
    kind: str = request.param
    return EngineNode(kind, request.getfixturevalue(f"{kind}_url"))
