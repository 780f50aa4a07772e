"""The jobs view (consumer/console/jobs.py) over SQLite: runs joined by run id, a start without an end shown as
running only when its end would have been read, per-job limits; and the word `job` it asks for besides
`event.name` (so that SQLite's full-text index preselects the runs' events), which every start, end and refusal
record `shipper exec` writes must say."""

import re
import time
from pathlib import Path

import pytest

from consumer.console.jobs import MARKER_WORD, JobEvent, job_runs
from consumer.console.readers import ReaderPool
from shipper.jobs.identity import JobName, RunId
from shipper.jobs.records import Ending, EventName, Outcome, RunContext, end_record, refused_record, start_record
from tests.console.support import NS, event, job_run_events, sqlite_index


def _words(text: str) -> set[str]:
    return {word.lower() for word in re.findall(r"\w+", text)}  # as FTS5's unicode61 splits and folds


@pytest.mark.parametrize("outcome", list(Outcome), ids=lambda o: o.value)
def test_every_run_record_the_view_reads_says_job(outcome: Outcome) -> None:
    job = JobName("recon.v2")
    run = RunContext(job, RunId.new("host-1", job), "")
    records = [start_record(run, 1, "/bin/true", 42, no_overlap=False), refused_record(run, 2, 7),
               end_record(run, 3, Ending(outcome, exit_code=3, signal="SIGKILL", wall_ms=12.5, error="not found"))]
    assert [r["event.name"] for r in records] == [JobEvent.START.value, JobEvent.REFUSED.value, JobEvent.END.value]
    assert {e.value for e in EventName} >= {e.value for e in JobEvent}
    for record in records:
        assert MARKER_WORD in _words(record["message"]), record["message"]


def test_runs_per_job_newest_first_with_the_running_ones(tmp_path: Path) -> None:
    index = sqlite_index(tmp_path)
    now = time.time_ns()
    index.write([event(i, at_ns=now - 1000 * NS + i * NS, body=f"job unrelated line {i}") for i in range(50)])
    index.write(job_run_events("old-job", host="h1", at_ns=now - 900 * NS, exit_code=None, first=100)  # started, no end
                + job_run_events("recon", host="h1", at_ns=now - 600 * NS, exit_code=0, first=200)
                + job_run_events("recon", host="h1", at_ns=now - 500 * NS, exit_code=3, first=300)
                + job_run_events("recon", host="h2", at_ns=now - 400 * NS, exit_code=None, first=400)
                + job_run_events("cleanup", host="h2", at_ns=now - 300 * NS, exit_code=1, first=500))
    pool = ReaderPool(index.config)
    try:
        every = job_runs(pool)
        runs = {j["name"]: [(r["state"], r["exit_code"], r["host"]) for r in j["runs"]] for j in every["jobs"]}
        assert [j["name"] for j in every["jobs"]] == ["cleanup", "recon", "old-job"]  # most recently active first
        assert runs == {"cleanup": [("ended", 1, "h2")],
                        "recon": [("running", None, "h2"), ("ended", 3, "h1"), ("ended", 0, "h1")],
                        "old-job": [("running", None, "h1")]}
        assert every["complete"] is True
        assert [len(j["runs"]) for j in job_runs(pool, per_job=1)["jobs"]] == [1, 1, 1]
        # reading only the newest 2 ends: the old start, older than the oldest end read, may have ended unseen
        cut = job_runs(pool, scanned=2)
        assert cut["complete"] is False
        assert {j["name"] for j in cut["jobs"]} == {"cleanup", "recon"}
        assert [r["state"] for j in cut["jobs"] if j["name"] == "recon" for r in j["runs"]] == ["running", "ended"]
    finally:
        pool.close()
        index.close()
