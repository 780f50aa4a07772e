"""Helpers for the shipper's scenario tests: a config on tmp files, the shipper in a thread, the topic read back."""

import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from shipper.config import ShipperConfig, parse_config
from shipper.runner import run_shipper
from tests.support.kafka import read_topic

FAST = {
    "rescan_interval": 0.2,
    "checkpoint_interval": 0.2,
    "rotate_wait": 0.5,
    "shutdown_timeout": 20.0,
    "log_format": "json",
}


def make_config(
    state: Path, bootstrap: str, topic: str, paths: list[str], *, fmt: str = "plain", encoding: str = "utf-8",
    shipper: dict[str, Any] | None = None, kafka: dict[str, Any] | None = None, exclude: list[str] | None = None,
) -> ShipperConfig:
    return parse_config({
        "shipper": {"state_dir": str(state), "host_id": "test-host", **FAST, **(shipper or {})},
        "kafka": {"bootstrap_servers": bootstrap, "topic": topic, "linger_ms": 5, **(kafka or {})},
        "inputs": [{"id": "app", "paths": paths, "exclude": exclude or [], "format": fmt, "encoding": encoding}],
    })


def run_once(config: ShipperConfig) -> int:
    return run_shipper(config, threading.Event(), once=True)


class RunningShipper:
    """The shipper's run loop in a thread; `stop()` sets its stop event and returns its exit code."""

    def __init__(self, config: ShipperConfig) -> None:
        self.stop_event = threading.Event()
        self.result: list[int] = []
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, args=(config,), daemon=True)

    def _run(self, config: ShipperConfig) -> None:
        try:
            self.result.append(run_shipper(config, self.stop_event))
        except BaseException as error:
            self.errors.append(error)
            raise

    def __enter__(self) -> "RunningShipper":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> int:
        self.stop_event.set()
        self.thread.join(60)
        assert not self.thread.is_alive(), "the shipper did not stop within 60 s; where each thread was:\n" + all_stacks()
        assert not self.errors, f"the shipper failed: {self.errors[0]!r}"
        return self.result[0] if self.result else -1


def all_stacks() -> str:
    """Every thread's stack, so that a stop that hangs says where it hangs."""
    import sys
    import traceback

    names = {thread.ident: thread.name for thread in threading.enumerate()}
    return "\n".join(
        f"--- {names.get(ident, ident)}\n" + "".join(traceback.format_stack(frame))
        for ident, frame in sys._current_frames().items()
    )


def topic_size(bootstrap: str, topic: str) -> int:
    """How many messages the topic holds (sum of the partitions' high watermarks)."""
    from confluent_kafka import KafkaException

    for _ in range(20):
        try:
            return _topic_size(bootstrap, topic)
        except KafkaException:  # e.g. a leader election in progress
            time.sleep(0.5)
    return _topic_size(bootstrap, topic)


def _topic_size(bootstrap: str, topic: str) -> int:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "watermarks"})
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        total = 0
        for partition in metadata.topics[topic].partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            total += high - low
        return total
    finally:
        consumer.close()


def wait_until(predicate: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def wait_for_count(bootstrap: str, topic: str, count: int, timeout: float = 60.0) -> None:
    wait_until(lambda: topic_size(bootstrap, topic) >= count, timeout, f"{count} messages in {topic}")


def shipped(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """Every event in the topic, with its Kafka key and event_id header checked against the event."""
    total = topic_size(bootstrap, topic)
    messages = read_topic(bootstrap, topic, expected=total, timeout=60)
    assert len(messages) == total, f"read {len(messages)} of {total} messages"
    events = []
    for message in messages:
        event = orjson.loads(message.value())  # type: ignore[attr-defined]
        headers = dict(message.headers())  # type: ignore[attr-defined]
        assert headers["event_id"] == event["event_id"].encode()
        assert headers["schema_version"] == b"1"
        assert message.key() == event["event_id"][:16].encode()  # type: ignore[attr-defined]
        events.append(event)
    return events


def assert_exactly_once(events: list[dict[str, Any]], expected_bodies: list[str]) -> None:
    """Each expected line shipped once (by content), no other line, and no event id twice."""
    ids = Counter(e["event_id"] for e in events)
    assert [i for i, n in ids.items() if n > 1] == [], "an event id was shipped twice"
    bodies = Counter(e["body"] for e in events)
    expected = Counter(expected_bodies)
    missing = expected - bodies
    extra = bodies - expected
    assert not missing, f"{sum(missing.values())} line(s) never shipped, e.g. {list(missing)[:3]}"
    assert not extra, f"{sum(extra.values())} line(s) shipped more than once or unexpected, e.g. {list(extra)[:3]}"


def write_lines(path: Path, lines: list[str], mode: str = "a") -> None:
    with open(path, mode, encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in lines))


def lines(prefix: str, count: int, start: int = 0) -> list[str]:
    return [f"{prefix} line {i:06d} some text to make it longer" for i in range(start, start + count)]
