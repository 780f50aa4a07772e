"""The jobs view (consumer/console/jobs.py) asks for the word `job` besides `event.name`, so that SQLite's full-text
index preselects the runs' events: every start, end and refusal record `shipper exec` writes must say it."""

import re

import pytest

from consumer.console.jobs import MARKER_WORD, JobEvent
from shipper.jobs.identity import JobName, RunId
from shipper.jobs.records import Ending, EventName, Outcome, RunContext, end_record, refused_record, start_record


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
