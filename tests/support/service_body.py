"""Running a role's service body (logferry.service.body.run_role) in a test, as the Windows service host runs it,
without the service control manager: the same on Linux and under Wine."""

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from logferry.service.body import run_role
from logferry.service.roles import ServiceRole
from logferry.service.supervise import supervise


def consumer_config(directory: Path, bootstrap: str, topic: str, group: str) -> Path:
    """A consumer config (literal TOML strings: Windows paths keep their backslashes) with the SQLite sink."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "consumer.toml"
    config.write_text(
        "[consumer]\nlog_format = 'json'\nprogress = 'off'\nbatch_max_wait = 0.2\nshutdown_timeout = 20\n"
        f"[kafka]\nbootstrap_servers = '{bootstrap}'\ntopics = ['{topic}']\ngroup_id = '{group}'\n"
        "session_timeout_ms = 6000\n"
        f"[sink]\ntype = 'sqlite'\npath = '{directory / 'index' / 'logs.db'}'\n",
        encoding="utf-8",
    )
    return config


@contextmanager
def saved_process_state() -> Iterator[None]:
    """The role's command sets up the root logger and the umask of its service's process; give the test's back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    umask = os.umask(0o077)
    os.umask(umask)
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        os.umask(umask)


def run_service_body(
    role: ServiceRole, name: str, config: Path, logs: Path, stop: threading.Event, *, reports: list[int] | None = None
) -> int:
    """What SvcDoRun does: the role's command under supervision until `stop` is set (the stop control's path);
    every stop-progress report appends to `reports`."""
    seen = reports if reports is not None else []
    with saved_process_state():
        return supervise(stop, lambda event: run_role(role, name, str(config), event, str(logs)),
                         lambda: seen.append(1), 0.05)


def committed_offsets(bootstrap: str, group: str, topic: str, partitions: int = 3) -> dict[int, int]:
    """The group's committed offset per partition of `topic` (-1001 where none is committed)."""
    client = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        found = client.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=30)
        return {tp.partition: tp.offset for tp in found}
    finally:
        client.close()


def end_offsets(bootstrap: str, topic: str, partitions: int = 3) -> dict[int, int]:
    client = Consumer({"bootstrap.servers": bootstrap, "group.id": "end-offsets", "enable.auto.commit": False})
    try:
        return {p: client.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in range(partitions)}
    finally:
        client.close()
