"""Helpers of the `shipper exec` tests: a shipper config on tmp files, exec run as a real process, the run's events
indexed by the real consumer into SQLite and read back through the index reader."""

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from consumer.config import load_config as load_consumer_config
from consumer.sinks.base import SearchQuery
from consumer.sinks.registry import open_reader
from tests.consumer.helpers import STARTED, run_consumer, sqlite_config
from tests.consumer.helpers import stop_started as stop_consumers_and_execs

ROOT = Path(__file__).resolve().parents[2]

"""Every exec a test started in the background; the conftest kills those left (and their jobs' groups)."""
GROUPS: list[int] = []
"""Process groups of jobs whose exec was killed: killed after the test."""


def shipper_config(directory: Path, bootstrap: str, topic: str, *, jobs: str = "", kafka: str = "") -> Path:
    """A shipper config whose only file input matches nothing: what ships is the spools."""
    path = directory / "shipper.toml"
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'[shipper]\nstate_dir = "{directory / "state"}"\nhost_id = "jobs-test"\nlog_format = "json"\n'
        f'rescan_interval = 0.2\ncheckpoint_interval = 0.2\n\n'
        f'[kafka]\nbootstrap_servers = "{bootstrap}"\ntopic = "{topic}"\nlinger_ms = 5\n{kafka}\n'
        f'[jobs]\n{jobs}\n'
        f'[[inputs]]\nid = "nothing"\npaths = ["{directory / "none" / "*.log"}"]\n'
    )
    return path


def exec_command(config: Path, job: str, *program: str, options: tuple[str, ...] = ()) -> list[str]:
    return [sys.executable, "-m", "shipper", "exec", "--config", str(config), "--job", job, *options, "--", *program]


def run_exec(config: Path, job: str, *program: str, options: tuple[str, ...] = (), timeout: float = 180
             ) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(exec_command(config, job, *program, options=options), capture_output=True, timeout=timeout,
                          cwd=ROOT, stdin=subprocess.DEVNULL)


def start_exec(config: Path, job: str, *program: str, options: tuple[str, ...] = ()) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(exec_command(config, job, *program, options=options), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, cwd=ROOT)
    STARTED.append(process)
    return process


def stop_started() -> None:
    stop_consumers_and_execs()
    while GROUPS:
        try:
            os.killpg(GROUPS.pop(), signal.SIGKILL)
        except ProcessLookupError:
            pass


def python(code: str) -> tuple[str, ...]:
    """A job that is this Python program."""
    return (sys.executable, "-c", code)


class Index:
    """A SQLite index of the topic, filled by the real consumer (`run --once`)."""

    def __init__(self, directory: Path, bootstrap: str, topic: str) -> None:
        self.db = directory / "index" / "logs.db"
        self.db.parent.mkdir(parents=True, exist_ok=True)
        self.config = sqlite_config(self.db, bootstrap, topic, f"jobs-{uuid.uuid4().hex[:8]}")

    def catch_up(self) -> None:
        result = run_consumer("run", "--config", str(self.config), "--once", "--idle-timeout", "3")
        assert result.returncode == 0, result.stderr

    def events(self, **attributes: str) -> list[dict[str, Any]]:
        """The indexed events whose attributes equal these, oldest (by spool offset) first."""
        reader = open_reader(load_consumer_config(self.config))
        try:
            found = reader.search(SearchQuery(text="", attributes=tuple(attributes.items()), limit=1_000_000))
        finally:
            reader.close()
        return sorted(found, key=lambda e: (e["event_id"][:16], e["attributes"]["log.file.record_offset"]))

    def rows(self) -> int:
        import sqlite3

        with sqlite3.connect(self.db, timeout=30) as connection:
            return int(connection.execute("SELECT count(*) FROM events").fetchone()[0])


def by_name(events: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in events if e["attributes"].get("event.name") == name]


def spool_records(config_dir: Path) -> Iterator[dict[str, Any]]:
    import orjson

    for path in sorted((config_dir / "state" / "jobs").glob("*.jsonl")):
        for line in path.read_bytes().splitlines():
            yield orjson.loads(line)
