"""Runs whose `exec` went away (SIGKILL, a crash, a power cut) get an end: `job.end` with outcome ended_unknown.

A spool needs one when its last record is not an end and its run lock is free (the lock dies with its holder).
The next `exec` of any job sweeps at once (`grace=0`); a running shipper sweeps now and then, for spools left that
way for `grace` seconds. The sweeper holds the run lock while it looks and appends, so two sweepers never both do.
Finished spools that are fully shipped are deleted after the retention (`prune`).
"""

import logging
import os
import time
from pathlib import Path

from shipper.checkpoint import Checkpoint
from shipper.jobs.identity import JobName, RunId
from shipper.jobs.locks import FileLock
from shipper.jobs.records import Ending, EventName, Outcome, Record, RunContext, decode, encode, end_record
from shipper.jobs.spool import run_lock_path, spools

log = logging.getLogger("shipper.jobs.recovery")

TAIL_BYTES = 65_536
"""How much of a spool's end is read to find its last record (an end record is far smaller)."""
ENDED = frozenset({EventName.END.value, EventName.REFUSED.value})


def last_record(path: Path) -> tuple[Record | None, bool]:
    """The spool's last complete record (None when there is none, or it is longer than TAIL_BYTES), and whether
    the file ends with a newline."""
    with open(path, "rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return None, True
        handle.seek(max(0, size - TAIL_BYTES))
        tail = handle.read()
    complete = tail.endswith(b"\n")
    lines = tail.rstrip(b"\n").rsplit(b"\n", 1)
    if len(lines) == 1 and size > len(tail):
        return None, complete  # the last line is longer than what was read: an output line, not an end
    return decode(lines[-1]), complete


def first_record(path: Path) -> Record | None:
    with open(path, "rb") as handle:
        return decode(handle.readline(TAIL_BYTES))


def is_ended(path: Path) -> bool:
    record, _ = last_record(path)
    return record is not None and record.get("event.name") in ENDED


def sweep(state_dir: str | Path, *, grace: float) -> int:
    """Mark the runs whose writer is gone as ended-unknown; how many were marked."""
    marked = 0
    now = time.time()
    for path in spools(state_dir):
        lock = FileLock(run_lock_path(path))
        try:
            if not lock.acquire(record_pid=False):
                continue  # its exec is running
            try:
                if grace > 0 and now - path.stat().st_mtime < grace:
                    continue
                if _mark(path):
                    marked += 1
            finally:
                lock.release()
        except OSError as error:
            log.warning("Cannot check a job's spool for an end.", extra={"path": str(path), "error": str(error)})
    return marked


def _mark(path: Path) -> bool:
    record, complete = last_record(path)
    if record is not None and record.get("event.name") in ENDED:
        return False
    first = first_record(path)
    if first is None or first.get("event.name") != EventName.START.value:
        return False  # nothing was recorded of this run (its exec died before its start record)
    run = RunContext(JobName(str(first["job.name"])), RunId(str(first["job.run.id"])), str(first.get("service", "")))
    end = end_record(run, time.time_ns(), Ending(Outcome.ENDED_UNKNOWN, pid=first.get("process.pid")))
    end["job.started_at"] = first.get("timestamp")
    with open(path, "ab") as handle:
        handle.write((b"" if complete else b"\n") + encode(end))
        handle.flush()
        os.fsync(handle.fileno())
    log.warning(
        "A job's run has no end and its exec is gone; recorded as ended-unknown.",
        extra={"job": run.job.value, "run_id": run.run_id.value, "path": str(path)},
    )
    return True


def prune(state_dir: str | Path, checkpoints: dict[object, Checkpoint], retention: float) -> int:
    """Delete finished spools read to their end (by the checkpoints) whose last change is older than `retention`."""
    shipped_to = {entry.path: entry.offset for entry in checkpoints.values()}
    deleted = 0
    now = time.time()
    for path in spools(state_dir):
        lock = FileLock(run_lock_path(path))
        try:
            st = path.stat()
            if shipped_to.get(str(path), -1) < st.st_size or now - st.st_mtime < retention:
                continue
            if not lock.acquire(record_pid=False):
                continue
            try:
                if is_ended(path):
                    path.unlink()
                    deleted += 1
            finally:
                lock.release()
            if not path.exists():
                lock.path.unlink(missing_ok=True)
        except OSError as error:
            log.warning("Cannot delete a shipped job spool.", extra={"path": str(path), "error": str(error)})
    return deleted
