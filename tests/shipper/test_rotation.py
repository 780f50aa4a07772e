"""Rotation, deletion and truncation while the shipper runs: every line shipped exactly once."""

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from tests.shipper.support import (
    RunningShipper,
    assert_exactly_once,
    lines,
    make_config,
    shipped,
    wait_for_count,
    write_lines,
)


def test_follows_rename_rotation(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    active = logs / "app.log"
    config = make_config(tmp_path / "state", kafka_bootstrap, kafka_topic, [str(logs / "*.log")])
    before, late, after = lines("before", 500), lines("late", 20), lines("after", 500)
    with RunningShipper(config):
        with open(active, "a", encoding="utf-8") as writer:
            writer.write("".join(f"{line}\n" for line in before))
            writer.flush()
            wait_for_count(kafka_bootstrap, kafka_topic, 500)
            # logrotate's default: rename away (out of the glob), create a new file; the writer still
            # holds the old handle for a moment and writes a few more lines there.
            os.rename(active, logs / "app.log.1")
            write_lines(active, after[:250])
            writer.write("".join(f"{line}\n" for line in late))
        write_lines(active, after[250:])
        wait_for_count(kafka_bootstrap, kafka_topic, 1020)
    events = shipped(kafka_bootstrap, kafka_topic)
    assert_exactly_once(events, before + late + after)
    by_body = {e["body"]: e for e in events}
    assert by_body[late[0]]["event_id"][:16] == by_body[before[0]]["event_id"][:16], "the old handle keeps its stream"
    assert by_body[after[0]]["event_id"][:16] != by_body[before[0]]["event_id"][:16]


@pytest.mark.slow
def test_copytruncate_with_writer_still_appending(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    active = logs / "app.log"
    active.touch()
    config = make_config(tmp_path / "state", kafka_bootstrap, kafka_topic, [str(logs / "app.log*")])
    written: list[str] = []
    rotate_now = threading.Event()
    rotated = threading.Event()
    lock = threading.Lock()

    def writer() -> None:
        with open(active, "a", encoding="utf-8") as handle:  # O_APPEND, as loggers open their files
            for i in range(6000):
                line = f"entry {i:06d} written by the application"
                with lock:
                    handle.write(line + "\n")
                    handle.flush()
                written.append(line)
                if i == 3000:
                    rotate_now.set()
                    rotated.wait(10)
                if i % 50 == 0:
                    time.sleep(0.01)

    with RunningShipper(config):
        thread = threading.Thread(target=writer)
        thread.start()
        rotate_now.wait(30)
        with lock:  # logrotate copytruncate: copy, then truncate in place
            shutil.copyfile(active, logs / "app.log.1")
            os.truncate(active, 0)
        rotated.set()
        thread.join(60)
        wait_for_count(kafka_bootstrap, kafka_topic, 6000)
        time.sleep(1.0)  # anything extra would arrive now
    events = shipped(kafka_bootstrap, kafka_topic)
    assert_exactly_once(events, written)


def test_delete_and_recreate_same_path_is_read_again(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    path = logs / "app.log"
    config = make_config(tmp_path / "state", kafka_bootstrap, kafka_topic, [str(logs / "*.log")])
    first = lines("first life", 300)
    # The same first line on purpose: only the identity and the marker tell the two files apart.
    second = [first[0], *lines("second life", 299)]
    with RunningShipper(config):
        write_lines(path, first)
        wait_for_count(kafka_bootstrap, kafka_topic, 300)
        path.unlink()
        time.sleep(0.5)
        write_lines(path, second)
        wait_for_count(kafka_bootstrap, kafka_topic, 600)
        time.sleep(0.5)
    assert_exactly_once(shipped(kafka_bootstrap, kafka_topic), first + second)


def test_truncation_ships_the_new_content_as_a_new_generation(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    path = logs / "app.log"
    config = make_config(tmp_path / "state", kafka_bootstrap, kafka_topic, [str(logs / "*.log")])
    old = lines("old", 200)
    new = [old[0], *lines("new", 399)]  # same head, and it grows past the old size
    with RunningShipper(config):
        write_lines(path, old)
        wait_for_count(kafka_bootstrap, kafka_topic, 200)
        with open(path, "r+", encoding="utf-8") as handle:
            handle.truncate(0)
        write_lines(path, new)
        wait_for_count(kafka_bootstrap, kafka_topic, 600)
        time.sleep(0.5)
    events = shipped(kafka_bootstrap, kafka_topic)
    assert_exactly_once(events, old + new)
    streams = {e["event_id"][:16] for e in events}
    assert len(streams) == 2, "new content at old offsets gets new event ids"


def test_a_file_renamed_to_a_name_the_glob_matches_is_not_read_twice(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    active = logs / "app.log"
    config = make_config(tmp_path / "state", kafka_bootstrap, kafka_topic, [str(logs / "app.log*")])
    first, second, third = lines("first", 400), lines("second", 400), lines("third", 400)
    with RunningShipper(config):
        write_lines(active, first)
        wait_for_count(kafka_bootstrap, kafka_topic, 400)
        os.rename(active, logs / "app.log.1")
        write_lines(logs / "app.log.1", second)  # the writer's old handle
        write_lines(active, third)
        wait_for_count(kafka_bootstrap, kafka_topic, 1200)
        time.sleep(1.0)
    assert_exactly_once(shipped(kafka_bootstrap, kafka_topic), first + second + third)


def test_a_file_closed_as_inactive_continues_when_it_grows(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    path = tmp_path / "app.log"
    config = make_config(
        tmp_path / "state", kafka_bootstrap, kafka_topic, [str(tmp_path / "*.log")], shipper={"close_inactive": 0.3}
    )
    first, second = lines("first", 100), lines("second", 100)
    with RunningShipper(config) as shipper:
        write_lines(path, first)
        wait_for_count(kafka_bootstrap, kafka_topic, 100)
        time.sleep(1.0)
        assert shipper.thread.is_alive()
        write_lines(path, second)
        wait_for_count(kafka_bootstrap, kafka_topic, 200)
        time.sleep(0.5)
    assert_exactly_once(shipped(kafka_bootstrap, kafka_topic), first + second)


def test_copytruncate_while_the_shipper_is_down_ships_the_copy_from_the_checkpoint(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    from tests.shipper.support import run_once

    logs = tmp_path / "logs"
    logs.mkdir()
    active = logs / "app.log"
    config = make_config(tmp_path / "state", kafka_bootstrap, kafka_topic, [str(logs / "app.log*")])
    shipped_before, unshipped, after = lines("shipped", 300), lines("written while down", 200), lines("after", 100)
    write_lines(active, shipped_before)
    assert run_once(config) == 0
    write_lines(active, unshipped)
    shutil.copyfile(active, logs / "app.log.1")
    os.truncate(active, 0)
    write_lines(active, after)
    assert run_once(config) == 0
    events = shipped(kafka_bootstrap, kafka_topic)
    assert_exactly_once(events, shipped_before + unshipped + after)
    by_body = {e["body"]: e for e in events}
    assert by_body[unshipped[0]]["event_id"][:16] == by_body[shipped_before[0]]["event_id"][:16]


def test_a_file_replaced_while_closed_as_inactive_is_read_again_from_the_start(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    path = tmp_path / "app.log"
    config = make_config(
        tmp_path / "state", kafka_bootstrap, kafka_topic, [str(tmp_path / "*.log")], shipper={"close_inactive": 0.3}
    )
    old = lines("old", 100)
    new = [old[0], *lines("new", 199)]  # same head, longer than before: only the marker tells
    with RunningShipper(config):
        write_lines(path, old)
        wait_for_count(kafka_bootstrap, kafka_topic, 100)
        time.sleep(1.0)  # closed as inactive by now
        with open(path, "r+", encoding="utf-8") as handle:  # rewritten in place, same inode
            handle.write("".join(line + "\n" for line in new))
        wait_for_count(kafka_bootstrap, kafka_topic, 300)
        time.sleep(0.5)
    assert_exactly_once(shipped(kafka_bootstrap, kafka_topic), old + new)
