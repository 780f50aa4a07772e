"""Hints.healthy on real inotify watches (Linux): True only when the kernel watches every directory the last rescan
took results from, and nothing was lost since."""

import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipper.discovery.hints import MAX_PATHS, Hints, inotify_watches, kernel_device
from shipper.discovery.scanner import Scanner
from tests.shipper.support import wait_until
from tests.shipper.test_discovery import make_input, touch

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="healthy is decided from inotify's watches")


class Watched:
    """A Scanner and running Hints on one pattern; `rescan()` scans and tells the hints, as the runner does."""

    def __init__(self, pattern: str) -> None:
        self.scanner = Scanner([make_input([pattern])])
        self.hints = Hints()
        self.hints.start([pattern])

    def rescan(self) -> bool:
        self.scanner.scan()
        self.hints.scanned(self.scanner.directories, self.scanner.linked_files)
        return self.hints.healthy


@pytest.fixture
def watching() -> Iterator[list[Watched]]:
    started: list[Watched] = []
    yield started
    for item in started:
        item.hints.stop()


def watch(started: list[Watched], pattern: str) -> Watched:
    item = Watched(pattern)
    started.append(item)
    return item


def test_a_local_tree_fully_watched_is_healthy_and_a_new_directory_becomes_watched(
    tmp_path: Path, watching: list[Watched]
) -> None:
    touch(tmp_path / "logs" / "a.log")
    touch(tmp_path / "logs" / "x" / "y" / "b.log")
    item = watch(watching, str(tmp_path / "logs" / "**" / "*.log"))
    assert not item.hints.healthy, "no rescan yet"
    assert item.rescan()
    touch(tmp_path / "logs" / "new" / "c.log")
    # watchdog adds the new directory's watch from its own thread; until then the rescan finds it unwatched.
    wait_until(item.rescan, 10, "the new directory watched")
    new = (tmp_path / "logs" / "new").stat()
    watched = inotify_watches()
    assert watched is not None and (kernel_device(new.st_dev), new.st_ino) in watched


def test_a_symlinked_file_or_a_linked_directory_outside_the_watch_is_not_healthy(
    tmp_path: Path, watching: list[Watched]
) -> None:
    touch(tmp_path / "logs" / "a.log")
    target = touch(tmp_path / "elsewhere" / "deep" / "t.log")
    item = watch(watching, str(tmp_path / "logs" / "**" / "*.log"))
    assert item.rescan()
    os.symlink(tmp_path / "elsewhere", tmp_path / "logs" / "linked")
    assert not item.rescan(), "the linked directory's target is not watched"
    os.unlink(tmp_path / "logs" / "linked")
    assert item.rescan()
    os.symlink(target, tmp_path / "logs" / "link.log")
    assert not item.rescan(), "a write to a link's target is no event in the link's directory"


def test_lost_events_make_it_unhealthy_until_the_next_rescan(tmp_path: Path, watching: list[Watched]) -> None:
    touch(tmp_path / "logs" / "a.log")
    item = watch(watching, str(tmp_path / "logs" / "*.log"))
    assert item.rescan()
    item.hints.rescan.clear()
    # watchdog says so only in a log line (its inotify queue overflowed): that line is the signal.
    logging.getLogger("watchdog.observers.inotify_c").warning("Inotify queue overflowed; filesystem events were lost")
    assert not item.hints.healthy
    assert item.hints.rescan.is_set(), "a rescan is asked for"
    assert item.rescan()
    for i in range(MAX_PATHS + 1):
        item.hints.note(f"/nowhere/{i}", "modified")
    assert not item.hints.healthy, "more changed paths than are kept"
    assert item.rescan()


def test_a_root_that_does_not_exist_or_a_stopped_watch_is_not_healthy(tmp_path: Path, watching: list[Watched]) -> None:
    item = watch(watching, str(tmp_path / "later" / "*.log"))
    assert not item.rescan()
    touch(tmp_path / "later" / "a.log")
    time.sleep(0.2)
    assert not item.rescan(), "its directory appeared after the watch started: nothing watches it"
    touch(tmp_path / "logs" / "a.log")
    other = watch(watching, str(tmp_path / "logs" / "*.log"))
    assert other.rescan()
    other.hints.stop()
    assert not other.hints.healthy


def test_reading_a_file_is_no_change_an_append_wakes_a_waiter_and_a_new_file_asks_for_a_rescan(
    tmp_path: Path, watching: list[Watched]
) -> None:
    path = touch(tmp_path / "logs" / "a.log")
    item = watch(watching, str(tmp_path / "logs" / "*.log"))
    hints = item.hints
    assert item.rescan()
    hints.rescan.clear()
    with open(path, "rb") as handle:  # what the shipper itself does to every file it follows
        handle.read()
    assert not hints.wait(0.5), "an open and a read are no change"
    assert hints.take() == set() and not hints.rescan.is_set()
    with open(path, "a") as handle:
        handle.write("more\n")
        handle.flush()
        assert hints.wait(10)
        assert hints.take() == {str(path)}
        assert not hints.rescan.is_set(), "new content in a known file needs a read, not a rescan"
    touch(tmp_path / "logs" / "b.log")
    wait_until(hints.rescan.is_set, 10, "a rescan asked for after a file was created")


def test_waiting_for_events_ends_when_asked_to_stop(tmp_path: Path, watching: list[Watched]) -> None:
    touch(tmp_path / "logs" / "a.log")
    hints = watch(watching, str(tmp_path / "logs" / "*.log")).hints
    started = time.monotonic()
    assert not hints.wait(60, lambda: time.monotonic() - started > 0.3)
    assert time.monotonic() - started < 30, "the stop was noticed, not the 60 s timeout"
