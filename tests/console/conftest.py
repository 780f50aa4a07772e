"""Fixtures of the console's tests: the search engines' nodes (as tests/consumer/conftest.py has them)."""

from collections.abc import Iterator

import pytest

from tests.support.elasticsearch import elasticsearch_node
from tests.support.opensearch import opensearch_node


@pytest.fixture(scope="session")
def opensearch_url() -> Iterator[str]:
    with opensearch_node() as url:
        yield url


@pytest.fixture(scope="session")
def elasticsearch_url() -> Iterator[str]:
    with elasticsearch_node() as url:
        yield url
