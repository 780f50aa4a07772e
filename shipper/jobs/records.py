"""The spool's records: one JSON object per line, in the keys the json format maps (timestamp, level, message,
service) plus the job's attributes, so the implicit spool input ships them with no parser of its own.

Every record has `event.name` (an EventName), `job.name` and `job.run.id`. Output records add `log.iostream`, the
line's own parsed attributes, `job.output.format` (the format that read the line) and `job.original` (the raw line;
the spool input renames it to log.record.original). The end record carries the outcome and the measurements.
"""

import enum
from dataclasses import dataclass
from typing import Any

import orjson

from schemas.timefmt import format_ns
from shipper.jobs.identity import JobName, RunId

Record = dict[str, Any]

ORIGINAL_KEY = "job.original"
"""The raw output line in a spool record; the spool input renames it to log.record.original."""


class EventName(enum.Enum):
    """What a record says (its `event.name`)."""

    START = "job.start"
    OUTPUT = "job.output"
    END = "job.end"
    REFUSED = "job.refused"
    OVERRUN = "job.overrun"  # still running past its `--warn-after`


class Outcome(enum.Enum):
    """How a run ended (`job.outcome` of its end record)."""

    SUCCEEDED = "succeeded"  # exit code 0
    FAILED = "failed"  # a non-zero exit code
    KILLED = "killed"  # ended by a signal (POSIX) or an NTSTATUS crash code (Windows)
    TIMED_OUT = "timed_out"  # killed by `--timeout`
    ENDED_UNKNOWN = "ended_unknown"  # its `exec` died before the end was known
    FAILED_TO_START = "failed_to_start"  # the program could not be started


class Stream(enum.Enum):
    STDOUT = "stdout"
    STDERR = "stderr"


@dataclass(frozen=True, slots=True)
class RunContext:
    """What every record of a run shares."""

    job: JobName
    run_id: RunId
    service: str  # "" for none

    def base(self, event: EventName, timestamp_ns: int, level: str | None, message: str) -> Record:
        record: Record = {"timestamp": format_ns(timestamp_ns)}
        if level:
            record["level"] = level
        record["message"] = message
        if self.service:
            record["service"] = self.service
        record["event.name"] = event.value
        record["job.name"] = self.job.value
        record["job.run.id"] = self.run_id.value
        return record


@dataclass(frozen=True, slots=True)
class Ending:
    """What is known of a run's end (None where the platform could not tell)."""

    outcome: Outcome
    exit_code: int | None = None
    signal: str | None = None  # POSIX: the signal's name (SIGKILL)
    ntstatus: str | None = None  # Windows: an NTSTATUS exit code as 0xC0000005
    wall_ms: float | None = None
    cpu_ms: float | None = None
    peak_memory_bytes: int | None = None
    timed_out: bool = False
    overran: bool = False
    lines: dict[str, int] | None = None  # output lines per stream
    pid: int | None = None
    error: str | None = None


def start_record(run: RunContext, timestamp_ns: int, program: str, pid: int | None, *, no_overlap: bool) -> Record:
    record = run.base(EventName.START, timestamp_ns, "INFO", f"Job {run.job} started.")
    record["job.program"] = program
    if pid is not None:
        record["process.pid"] = pid
    record["job.no_overlap"] = no_overlap
    return record


def end_record(run: RunContext, timestamp_ns: int, ending: Ending) -> Record:
    outcome = ending.outcome
    level = "INFO" if outcome is Outcome.SUCCEEDED else "WARN" if outcome is Outcome.ENDED_UNKNOWN else "ERROR"
    record = run.base(EventName.END, timestamp_ns, level, _end_message(run.job, ending))
    record["job.outcome"] = outcome.value
    if ending.exit_code is not None:
        record["job.exit_code"] = ending.exit_code
    if ending.signal is not None:
        record["job.signal"] = ending.signal
    if ending.ntstatus is not None:
        record["job.ntstatus"] = ending.ntstatus
    record["job.timed_out"] = ending.timed_out
    record["job.overran"] = ending.overran
    if ending.wall_ms is not None:
        record["job.duration.wall_ms"] = round(ending.wall_ms, 3)
    if ending.cpu_ms is not None:
        record["job.duration.cpu_ms"] = round(ending.cpu_ms, 3)
    if ending.peak_memory_bytes is not None:
        record["job.memory.peak_bytes"] = ending.peak_memory_bytes
    for stream, count in (ending.lines or {}).items():
        record[f"job.output.{stream}_lines"] = count
    if ending.pid is not None:
        record["process.pid"] = ending.pid
    if ending.error is not None:
        record["error.message"] = ending.error
    return record


def refused_record(run: RunContext, timestamp_ns: int, holder: int | None) -> Record:
    record = run.base(
        EventName.REFUSED, timestamp_ns, "WARN", f"Job {run.job} did not start: another run of it is still running."
    )
    record["job.outcome"] = "refused"
    if holder:
        record["job.running_pid"] = holder
    return record


def overrun_record(run: RunContext, timestamp_ns: int, after: float) -> Record:
    record = run.base(EventName.OVERRUN, timestamp_ns, "WARN", f"Job {run.job} is still running after {after:g} s.")
    record["job.warn_after_s"] = after
    return record


def _end_message(job: JobName, ending: Ending) -> str:
    outcome = ending.outcome
    took = f" after {ending.wall_ms / 1000:.3f} s" if ending.wall_ms is not None else ""
    if outcome is Outcome.SUCCEEDED:
        return f"Job {job} succeeded{took}."
    if outcome is Outcome.FAILED:
        return f"Job {job} failed with exit code {ending.exit_code}{took}."
    if outcome is Outcome.TIMED_OUT:
        return f"Job {job} was killed by its timeout{took}."
    if outcome is Outcome.KILLED:
        return f"Job {job} was killed by {ending.signal or ending.ntstatus}{took}."
    if outcome is Outcome.FAILED_TO_START:
        return f"Job {job} could not be started: {ending.error}."
    return f"Job {job} ended but how is unknown: its exec process went away."


def encode(record: Record) -> bytes:
    """The record as one spool line (with its newline)."""
    return orjson.dumps(record) + b"\n"


def decode(line: bytes) -> Record | None:
    """The record of one spool line; None when it is not one (a torn last line)."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
