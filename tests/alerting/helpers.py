"""Helpers of the evaluator's tests: configs, events at chosen times into a real topic, the evaluator as a process,
and what its state database recorded."""

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from schemas import new_event, stream_id
from tests.consumer.helpers import STARTED

ROOT = Path(__file__).resolve().parents[2]
NS = 1_000_000_000


def evaluator_config(directory: Path, bootstrap: str, topic: str, group: str, rules: str, *, lateness: str = "1s",
                     extra: str = "") -> Path:
    """An evaluator config file in `directory` with `rules` (TOML [[rules]] tables)."""
    config = directory / f"alerts-{group}.toml"
    config.write_text(
        f'[consumer]\nlog_format = "json"\nprogress = "off"\nbatch_max_wait = 0.2\n\n'
        f'[kafka]\nbootstrap_servers = "{bootstrap}"\ntopics = ["{topic}"]\ngroup_id = "{group}"\n'
        f'session_timeout_ms = 6000\n\n'
        f'[alert]\nstate_path = "{directory / f"state-{group}.db"}"\nallowed_lateness = "{lateness}"\n'
        f'evaluation_interval = "0.2s"\n{extra}\n{rules}\n'
    )
    return config


def state_path(config: Path) -> Path:
    return config.parent / f"state-{config.stem.removeprefix('alerts-')}.db"


def events(times_ns: Iterable[int], *, service: str = "billing", host: str = "web-1", level: tuple[str, int] = ("ERROR", 17),
           body: str = "payment failed", file: str = "dev:1/ino:1", start: int = 0,
           attributes: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Unified events of one file at the given times."""
    stream = stream_id(host, file)
    found = []
    for i, stamp in enumerate(times_ns, start=start):
        found.append(new_event(
            stream=stream, offset=i * 100, timestamp_ns=stamp, observed_ns=stamp + 5, body=body,
            resource={"service.name": service, "host.name": host, "host.id": host}, input_id="app", log_format="plain",
            severity_text=level[0], severity_number=level[1], attributes=attributes or {},
        ))
    return found


def alert_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "consumer", "alert", *args]


def run_alert(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(alert_command(*args), capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})


def evaluate_once(config: Path) -> subprocess.CompletedProcess[str]:
    """`alert run --once`: evaluate up to the end offsets, then stop; asserts it worked."""
    result = run_alert("run", "--once", "--idle-timeout", "2", "--config", str(config))
    assert result.returncode == 0, result.stderr[-4000:]
    return result


def start_evaluator(config: Path, log: Path) -> subprocess.Popen[bytes]:
    handle = open(log, "ab")  # noqa: SIM115 - the process owns it
    process = subprocess.Popen(alert_command("run", "--config", str(config)), stdout=handle, stderr=handle, cwd=ROOT,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    STARTED.append(process)
    return process


def recorded(config: Path) -> list[dict[str, Any]]:
    """Every alert the state database records, oldest episode first, as the JSON the evaluator stored."""
    path = state_path(config)
    if not path.exists():
        return []
    with sqlite3.connect(path, timeout=30) as connection:
        try:
            found = connection.execute("SELECT data FROM alerts ORDER BY rule, grp, episode").fetchall()
        except sqlite3.OperationalError:
            return []
    return [orjson.loads(row[0]) for row in found]


def fired(config: Path, rule: str | None = None) -> list[dict[str, Any]]:
    return [a for a in recorded(config) if a["fired_at"] is not None and (rule is None or a["rule"] == rule)]
