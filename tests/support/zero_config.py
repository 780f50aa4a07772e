"""Ship a file's bytes with a zero-configuration input and read back what the SQLite index holds.

End to end through the real parts: `python -m shipper run --once` with one input that names only its paths (format
auto, every other input setting at its default) into a fresh topic of the real broker, then `python -m consumer run
--once` with a SQLite sink, then the index's rows. Both are child processes run to completion under a timeout;
subprocess.run kills a child whatever goes wrong (a timeout, an interrupt), so nothing outlives the test.
"""

import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from consumer.sinks.sqlite_codec import all_stored_events
from schemas.timefmt import parse_rfc3339_ns
from shipper.parsers.clock import host_zone_name
from tests.support.kafka import new_topic

ROOT = Path(__file__).resolve().parents[2]
PROCESS_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class Indexed:
    """The index's events for the shipped file, in file order, and the processes' output for failure messages."""

    events: list[dict[str, Any]]
    output: str

    def raw_texts(self) -> list[str]:
        """Each event's raw text: its kept original, else its string body."""
        texts = []
        for event in self.events:
            original = event["attributes"].get("log.record.original")
            texts.append(str(original) if original is not None else str(event["body"]))
        return texts


def _run(args: list[str], what: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, timeout=PROCESS_TIMEOUT_S, cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    output = f"--- {what} (exit {result.returncode})\n{result.stdout}{result.stderr}"
    assert result.returncode == 0, output
    return output


def ship_and_index(tmp_path: Path, bootstrap: str, data: bytes, *, name: str = "app.log") -> Indexed:
    """Write `data` as logs/`name`, ship it with a zero-configuration input, index it into SQLite; the events."""
    topic = new_topic(bootstrap, partitions=1, prefix="zero-config")
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / name).write_bytes(data)
    shipper_config = tmp_path / "shipper.toml"
    shipper_config.write_text(
        f'[shipper]\nstate_dir = "{tmp_path / "shipper-state"}"\nhost_id = "zero-config-host"\nlog_format = "json"\n'
        f'\n[kafka]\nbootstrap_servers = "{bootstrap}"\ntopic = "{topic}"\n'
        # The input names its paths and nothing else: no format, encoding, timezone or multiline setting.
        f'\n[[inputs]]\nid = "app"\npaths = ["{logs}/*.log"]\n',
        encoding="utf-8",
    )
    database = tmp_path / "index" / "logs.db"
    database.parent.mkdir()
    consumer_config = tmp_path / "consumer.toml"
    consumer_config.write_text(
        f'[consumer]\nlog_format = "json"\nprogress = "off"\nbatch_max_wait = 0.2\n'
        f'\n[kafka]\nbootstrap_servers = "{bootstrap}"\ntopics = ["{topic}"]\ngroup_id = "zero-config-{topic}"\n'
        f'session_timeout_ms = 6000\n\n[sink]\ntype = "sqlite"\npath = "{database}"\n',
        encoding="utf-8",
    )
    output = _run(["shipper", "run", "--once", "--config", str(shipper_config)], "shipper")
    output += _run(["consumer", "run", "--once", "--idle-timeout", "3", "--config", str(consumer_config)], "consumer")
    with sqlite3.connect(database, timeout=30) as connection:
        rows = all_stored_events(connection)
    events = sorted((orjson.loads(row[1]) for row in rows), key=lambda e: e["attributes"]["log.file.record_offset"])
    return Indexed(events, output)


def local_wall_ns(wall: str) -> int:
    """UTC nanoseconds of a zone-less wall time (`2026-03-14T10:00:00`, whole seconds) as the shipper reads it in its
    default zone, the host's."""
    moment = datetime.fromisoformat(wall).replace(tzinfo=ZoneInfo(host_zone_name())).astimezone(UTC)
    return int(moment.timestamp()) * 1_000_000_000


def timestamp_ns(event: dict[str, Any]) -> int:
    return parse_rfc3339_ns(event["timestamp"])
