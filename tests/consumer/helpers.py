"""Helpers for the consumer's tests: unified events into a real topic, consumer configs, workers as processes."""

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from confluent_kafka import Producer

from schemas import new_event, serialize, stream_id

ROOT = Path(__file__).resolve().parents[2]
BASE_NS = 1_767_225_600 * 1_000_000_000  # 2026-01-01T00:00:00Z

LEVELS = (("DEBUG", 5), ("INFO", 9), ("WARN", 13), ("ERROR", 17))


def make_events(count: int, *, file: str = "dev:1/ino:1", start: int = 0, service: str = "api", host: str = "web-1",
                level: tuple[str, int] | None = None, body: str | None = None, step_ns: int = 1_000_000) -> list[dict[str, Any]]:
    """`count` events of one file, offsets 100 bytes apart, one millisecond apart in time."""
    stream = stream_id(host, file)
    events = []
    for i in range(start, start + count):
        text, number = level or LEVELS[i % len(LEVELS)]
        events.append(new_event(
            stream=stream, offset=i * 100, timestamp_ns=BASE_NS + i * step_ns, observed_ns=BASE_NS + i * step_ns + 5,
            body=body if body is not None else f"request {i} handled by {service}", resource={
                "service.name": service, "host.name": host, "host.id": host},
            input_id="app", log_format="plain", severity_text=text, severity_number=number,
            attributes={"log.file.path": f"/var/log/{service}.log", "log.file.record_offset": i * 100},
        ))
    return events


def produce(bootstrap: str, topic: str, events: Iterable[dict[str, Any]], *, raw: Sequence[tuple[bytes, bytes]] = ()) -> int:
    """Produce events (key = stream id) and raw (key, value) records; waits for every acknowledgement."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 5})
    failures: list[object] = []
    count = 0

    def delivered(error: object, _message: object) -> None:
        if error is not None:
            failures.append(error)

    for event in events:
        _produce(producer, topic, event["event_id"][:16].encode(), serialize(event), delivered)
        count += 1
    for key, value in raw:
        _produce(producer, topic, key, value, delivered)
        count += 1
    assert producer.flush(60) == 0
    assert failures == []
    return count


def _produce(producer: Producer, topic: str, key: bytes, value: bytes, delivered: Any) -> None:
    while True:
        try:
            producer.produce(topic, key=key, value=value, on_delivery=delivered)
            return
        except BufferError:
            producer.poll(0.1)


def sqlite_config(path: Path, bootstrap: str, topic: str, group: str, *, extra: str = "", kafka_extra: str = "") -> Path:
    """A consumer config file for the SQLite sink at `path`.parent/<name>.toml."""
    config = path.parent / f"consumer-{group}.toml"
    config.write_text(
        f'[consumer]\nlog_format = "json"\nprogress = "off"\nbatch_max_wait = 0.2\n{extra}\n'
        f'[kafka]\nbootstrap_servers = "{bootstrap}"\ntopics = ["{topic}"]\ngroup_id = "{group}"\nsession_timeout_ms = 6000\n'
        f'{kafka_extra}\n[sink]\ntype = "sqlite"\npath = "{path}"\n'
    )
    return config


def consumer_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "consumer", *args]


def run_consumer(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `python -m consumer ARGS` to completion."""
    return subprocess.run(consumer_command(*args), capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})


STARTED: list[subprocess.Popen[bytes]] = []
"""Every background consumer a test started; tests/consumer/conftest.py kills those still running after each test."""


def start_consumer(*args: str, log: Path) -> subprocess.Popen[bytes]:
    """Start `python -m consumer ARGS` in the background, its stderr into `log`."""
    handle = open(log, "ab")  # noqa: SIM115 - the process owns it
    process = subprocess.Popen(consumer_command(*args), stdout=handle, stderr=handle, cwd=ROOT,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    STARTED.append(process)
    return process


def stop_started() -> None:
    """Kill the background consumers still running (a test that failed half-way leaves no process behind)."""
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            process.kill()
        process.wait()


def indexed_ids(db: Path) -> list[str]:
    """Every event_id in the SQLite index (duplicates would show twice)."""
    with sqlite3.connect(db, timeout=30) as connection:
        return [row[0].hex() for row in connection.execute("SELECT event_id FROM events")]


def fts_count(db: Path) -> int:
    from consumer.sinks.sqlite_db import fts_rows

    with sqlite3.connect(db, timeout=30) as connection:
        return fts_rows(connection)


def wait_for(condition: Any, timeout: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def opensearch_config(directory: Path, url: str, bootstrap: str, topic: str, *, group: str, prefix: str, extra: str = "") -> Path:
    """A consumer config file for the OpenSearch sink with its own index prefix."""
    config = directory / f"consumer-{group}.toml"
    config.write_text(
        f'[consumer]\nlog_format = "json"\nprogress = "off"\nbatch_max_wait = 0.2\nretry_max = 2.0\n{extra}\n'
        f'[kafka]\nbootstrap_servers = "{bootstrap}"\ntopics = ["{topic}"]\ngroup_id = "{group}"\nsession_timeout_ms = 6000\n'
        f'[sink]\ntype = "opensearch"\nurl = "{url}"\nindex_prefix = "{prefix}"\nretry_attempts = 2\n'
    )
    return config
