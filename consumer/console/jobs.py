"""The console's jobs view: the last runs of each `shipper exec` job, from the index, on the readers' own search.

A run is its `job.end` event (exit code, outcome, durations), joined by `job.run.id` with its `job.start`; a start
without an end is a run still going (or one whose `exec` died: the next `exec` or the shipper writes its
`ended_unknown` end). A `job.refused` event is a run that did not start.

Every start, end and refusal message begins with "Job <name>" (shipper/jobs/records.py), so the searches ask for the
word `job` as text besides the attribute `event.name`: on SQLite the full-text index then hands over the few events
saying "job" instead of the attribute check reading every event newest first; on the engines it is one more term.

The searches read the newest RUNS_SCANNED ends (and starts, refusals): a job whose last run is older than those is
not listed (`complete` is false; `consumer search --job NAME` finds it). A start counts as running only when it is
newer than the oldest end read (or every end was read), since its end, were there one, would then be among them.
"""

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from consumer.console.readers import ReaderPool
from consumer.sinks.base import SearchQuery
from consumer.sinks.sqlite_rows import timestamp_ns

RUNS_SCANNED = 1000  # newest end (and start) events read
RUNS_PER_JOB = 10
MARKER_WORD = "job"  # in every start, end and refusal message


class JobEvent(StrEnum):
    """The `event.name` of the run events the view reads (shipper.jobs.records.EventName)."""

    START = "job.start"
    END = "job.end"
    REFUSED = "job.refused"


def _attribute(event: Mapping[str, Any], key: str) -> Any:
    """An attribute by its dotted key, flat (`{"job.name": ...}`) or nested (`{"job": {"name": ...}}`)."""
    attributes = event.get("attributes")
    if not isinstance(attributes, dict):
        return None
    if key in attributes:
        return attributes[key]
    node: Any = attributes
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _search(pool: ReaderPool, kind: JobEvent, limit: int) -> list[dict[str, Any]]:
    query = SearchQuery(text=MARKER_WORD, attributes=(("event.name", kind.value),), limit=limit)
    return pool.call(lambda reader: reader.search(query))


def _stamp(event: Mapping[str, Any]) -> int:
    try:
        return timestamp_ns(str(event.get("timestamp")))
    except ValueError:
        return 0


def _run_of(event: Mapping[str, Any]) -> tuple[str, str] | None:
    job, run = _attribute(event, "job.name"), _attribute(event, "job.run.id")
    if not isinstance(job, str) or not isinstance(run, str):
        return None
    return job, run


def _base(event: Mapping[str, Any], job: str, run: str) -> dict[str, Any]:
    resource = event.get("resource") or {}
    return {"job": job, "run_id": run, "host": resource.get("host.name"), "service": resource.get("service.name"),
            "search": f"job.name:{job} job.run.id:{run}", "started_at": None, "ended_at": None, "exit_code": None,
            "outcome": None, "signal": None, "ntstatus": None, "timed_out": None, "wall_ms": None, "cpu_ms": None,
            "peak_memory_bytes": None, "stdout_lines": None, "stderr_lines": None, "state": "running"}


def job_runs(pool: ReaderPool, per_job: int = RUNS_PER_JOB, scanned: int = RUNS_SCANNED) -> dict[str, Any]:
    """Per job (the most recently active first), its last `per_job` runs, newest first."""
    ends = _search(pool, JobEvent.END, scanned)
    starts = _search(pool, JobEvent.START, scanned)
    refusals = _search(pool, JobEvent.REFUSED, scanned)
    runs: dict[tuple[str, str], dict[str, Any]] = {}
    for event in ends:
        key = _run_of(event)
        if key is None or key in runs:
            continue
        run = _base(event, *key)
        stamp = _stamp(event)
        wall = _attribute(event, "job.duration.wall_ms")
        run.update(
            state="ended", ended_at=event.get("timestamp"), ended_ns=stamp, sort_ns=stamp,
            exit_code=_attribute(event, "job.exit_code"), outcome=_attribute(event, "job.outcome"),
            signal=_attribute(event, "job.signal"), ntstatus=_attribute(event, "job.ntstatus"),
            timed_out=_attribute(event, "job.timed_out"), wall_ms=wall, cpu_ms=_attribute(event, "job.duration.cpu_ms"),
            peak_memory_bytes=_attribute(event, "job.memory.peak_bytes"),
            stdout_lines=_attribute(event, "job.output.stdout_lines"),
            stderr_lines=_attribute(event, "job.output.stderr_lines"), level=event.get("severity_text"),
        )
        runs[key] = run
    every_end_read = len(ends) < scanned
    oldest_end = min((_stamp(e) for e in ends), default=0)
    for event in starts:
        key = _run_of(event)
        if key is None:
            continue
        stamp = _stamp(event)
        if key in runs:
            runs[key]["started_at"] = event.get("timestamp")
            continue
        if every_end_read or stamp >= oldest_end:
            run = _base(event, *key)
            run.update(started_at=event.get("timestamp"), sort_ns=stamp)
            runs[key] = run
    for event in refusals:
        key = _run_of(event)
        if key is None or key in runs:
            continue
        run = _base(event, *key)
        stamp = _stamp(event)
        run.update(state="refused", outcome="refused", ended_at=event.get("timestamp"), sort_ns=stamp)
        runs[key] = run
    jobs: dict[str, list[dict[str, Any]]] = {}
    for run in sorted(runs.values(), key=lambda r: r["sort_ns"], reverse=True):
        kept = jobs.setdefault(run["job"], [])
        if len(kept) < per_job:
            kept.append(run)
    for kept in jobs.values():
        for run in kept:
            run.pop("sort_ns", None)
            run.pop("ended_ns", None)
    complete = len(ends) < scanned and len(starts) < scanned and len(refusals) < scanned
    return {"jobs": [{"name": name, "runs": kept} for name, kept in jobs.items()], "complete": complete,
            "scanned": scanned}
