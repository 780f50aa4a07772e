"""Fixtures of the evaluator's tests: a fresh group per test, and no evaluator outliving its test."""

import uuid
from collections.abc import Iterator

import pytest

from tests.consumer.helpers import stop_started


@pytest.fixture(autouse=True)
def no_evaluator_outlives_its_test() -> Iterator[None]:
    yield
    stop_started()


@pytest.fixture
def group_id() -> str:
    return f"alerts-{uuid.uuid4().hex[:8]}"
