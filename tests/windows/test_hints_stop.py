"""A stop of the file-system hints returns in bounded time even when watchdog's own stop blocks.

watchdog's Windows reader cancels its blocked ReadDirectoryChangesW and joins without a timeout; a cancel that lands
just before the call starts cancels nothing (a clean-clone CI run under Wine hung a shipper's stop this way). The
blocking stop is reproduced here by an observer whose stop waits for the test to release it."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipper.discovery.hints import Hints

pytestmark = pytest.mark.windows  # the blocking stop is watchdog's Windows reader; runs under Wine in CI


class BlockingObserver:
    """Stands in for a watchdog observer whose reader thread never comes back from its directory read."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.stop_called = threading.Event()

    def stop(self) -> None:
        self.stop_called.set()
        self.release.wait(120)

    def join(self, timeout: float | None = None) -> None:
        return None


@pytest.fixture
def blocking() -> Iterator[BlockingObserver]:
    observer = BlockingObserver()
    yield observer
    observer.release.set()


def test_a_stop_returns_although_the_watchs_own_stop_blocks(tmp_path: Path, blocking: BlockingObserver) -> None:
    (tmp_path / "a.log").write_text("x\n")
    hints = Hints()
    hints.start([str(tmp_path / "*.log")])
    real = hints._observer
    assert real is not None, "the watch started on a directory that exists"
    try:
        hints._observer = blocking
        started = time.monotonic()
        hints.stop()
        took = time.monotonic() - started
    finally:
        real.stop()
        real.join(5)
    assert blocking.stop_called.is_set(), "the observer was asked to stop"
    assert took < 60, "the stop waited for the blocked observer (120 s) instead of its bound"
    assert not hints.healthy
    hints.stop()  # a second stop is harmless
