"""Where a run's records wait to be shipped: `<state_dir>/jobs/<job>.<run id>.jsonl`, written append-only.

Every line is written with one unbuffered write as soon as it is made, so a kill of `exec` at any moment leaves the
lines written so far for the shipper (at most a torn last line, which recovery ends with a newline). The implicit
input `job_input` (format json) makes every shipper follow the directory.
"""

import dataclasses
import glob
import os
import threading
from pathlib import Path

from logferry.config import load
from shipper.config import InputSettings, ShipperConfig
from shipper.jobs.identity import JobName, RunId
from shipper.jobs.records import ORIGINAL_KEY, Record, encode

JOB_INPUT_ID = "_jobs"
"""The implicit input's id (an input of the config with this id is left as configured)."""
SPOOL_SUFFIX = ".jsonl"
RUN_LOCK_SUFFIX = ".lock"


def jobs_dir(state_dir: str | Path) -> Path:
    return Path(state_dir) / "jobs"


def spool_path(state_dir: str | Path, job: JobName, run_id: RunId) -> Path:
    return jobs_dir(state_dir) / f"{job}.{run_id}{SPOOL_SUFFIX}"


def run_lock_path(spool: Path) -> Path:
    """The lock `exec` holds while it writes `spool` (free: its writer is gone)."""
    return spool.with_name(spool.name[: -len(SPOOL_SUFFIX)] + ".run" + RUN_LOCK_SUFFIX)


def job_lock_path(state_dir: str | Path, job: JobName) -> Path:
    """The lock a `--no-overlap` run of `job` holds."""
    return jobs_dir(state_dir) / f"{job}.job{RUN_LOCK_SUFFIX}"


def spools(state_dir: str | Path) -> list[Path]:
    """Every spool in the state directory, oldest name first."""
    directory = jobs_dir(state_dir)
    try:
        return sorted(p for p in directory.iterdir() if p.name.endswith(SPOOL_SUFFIX))
    except FileNotFoundError:
        return []


def job_input(state_dir: str | Path) -> InputSettings:
    """The input that follows the spools: json, the raw output line kept as log.record.original."""
    pattern = os.path.join(glob.escape(str(jobs_dir(state_dir))), "*" + SPOOL_SUFFIX)
    table = {
        "id": JOB_INPUT_ID, "paths": [pattern], "format": "json", "encoding": "utf-8",
        "rename": {ORIGINAL_KEY: "log.record.original"},
    }
    return load(InputSettings, table, f"inputs.{JOB_INPUT_ID}")


def with_job_input(config: ShipperConfig) -> ShipperConfig:
    """`config` with the spool input added (unless it has an input of that id already)."""
    if any(item.id == JOB_INPUT_ID for item in config.inputs):
        return config
    return dataclasses.replace(config, inputs=[*config.inputs, job_input(config.shipper.state_dir)])


def only_job_input(config: ShipperConfig) -> ShipperConfig:
    """`config` following nothing but the spools (what `exec` ships before it exits)."""
    settings = dataclasses.replace(config.shipper, metrics_address="", progress="off")
    return dataclasses.replace(config, shipper=settings, inputs=[job_input(config.shipper.state_dir)])


class SpoolWriter:
    """Appends records to one spool; thread-safe, each record one write."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0)
        self._fd = os.open(path, flags, 0o600)
        self._lock = threading.Lock()
        self.records = 0

    def write(self, record: Record) -> None:
        self.write_many([record])

    def write_many(self, records: list[Record]) -> None:
        if not records:
            return
        data = b"".join(encode(r) for r in records)
        with self._lock:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            self.records += len(records)

    def close(self) -> None:
        """Make the spool durable (fsync) and close it."""
        with self._lock:
            if self._fd < 0:
                return
            try:
                os.fsync(self._fd)
            finally:
                os.close(self._fd)
                self._fd = -1
