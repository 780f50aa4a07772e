"""Every exec a test starts, and every job left by an exec the test killed, is ended after the test."""

from collections.abc import Iterator

import pytest

from tests.jobs.support import stop_started


@pytest.fixture(autouse=True)
def no_exec_outlives_its_test() -> Iterator[None]:
    yield
    stop_started()
