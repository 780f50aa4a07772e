"""Session-wide fixtures: a real Kafka broker and a fresh topic per test."""

from collections.abc import Iterator

import pytest

from tests.support.kafka import kafka_broker, new_topic


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """The bootstrap address of a real Kafka broker (see tests/support/kafka.py). Never skips."""
    with kafka_broker() as bootstrap:
        yield bootstrap


@pytest.fixture
def kafka_topic(kafka_bootstrap: str) -> str:
    """A fresh topic with 3 partitions, made for this test alone."""
    return new_topic(kafka_bootstrap)
