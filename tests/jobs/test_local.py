"""`shipper exec` where no broker is needed: what it spools and exits with, its usage errors, and the recovery of
runs whose exec died (real processes, real files, real locks)."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shipper.jobs import recovery
from shipper.jobs.identity import BadJobName, JobName, RunId
from shipper.jobs.records import Ending, Outcome, RunContext, end_record, start_record
from shipper.jobs.spool import SpoolWriter, run_lock_path, spool_path, spools
from tests.jobs.support import ROOT, python, run_exec, shipper_config, spool_records
from tests.support.proxy import free_port


def _offline(tmp_path: Path) -> Path:
    """A config whose Kafka never answers (nothing listens there): the spool is all there is."""
    return shipper_config(tmp_path, f"127.0.0.1:{free_port()}", "never", kafka="connect_timeout = 1.0")


def test_exec_spools_start_lines_and_end_and_exits_with_the_jobs_code_when_kafka_is_away(tmp_path: Path) -> None:
    config = _offline(tmp_path)
    result = run_exec(config, "offline", *python("import sys; print('a'); print('b', file=sys.stderr); sys.exit(9)"))
    assert result.returncode == 9
    assert result.stdout.splitlines() == [b"a"]  # echoed as the job wrote it (no --quiet)
    assert b"b" in result.stderr.splitlines()
    records = list(spool_records(tmp_path))
    assert len(records) == 4 and records[0]["event.name"] == "job.start"
    assert sorted(r["message"] for r in records if r["event.name"] == "job.output") == ["a", "b"]
    end = records[-1]
    assert end["event.name"] == "job.end" and end["job.exit_code"] == 9 and end["job.outcome"] == "failed"


def test_a_program_that_does_not_exist_is_recorded_and_exits_127(tmp_path: Path) -> None:
    result = run_exec(_offline(tmp_path), "missing", str(tmp_path / "no-such-program"))
    assert result.returncode == 127
    (start, end) = spool_records(tmp_path)
    assert start["event.name"] == "job.start"
    assert end["job.outcome"] == "failed_to_start" and end["job.exit_code"] == 127


@pytest.mark.parametrize(("options", "message"), [
    (("--job", "no/slash"), "job name"),
    (("--job", "ok", "--timeout", "soon"), "duration"),
    (("--job", "ok", "--warn-after", "0s"), "--warn-after must be greater than 0"),
])
def test_usage_errors_are_one_line_and_exit_2(tmp_path: Path, options: tuple[str, ...], message: str) -> None:
    config = _offline(tmp_path)
    command = [sys.executable, "-m", "shipper", "exec", "--config", str(config), *options, "--", "true"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr


def test_no_program_is_a_usage_error(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "shipper", "exec", "--config", str(_offline(tmp_path)), "--job", "x", "--"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 2 and "needs the program" in result.stderr


def test_job_names_and_run_ids() -> None:
    for bad in ("", ".", "..", "a b", "x" * 65, "a/b"):
        with pytest.raises(BadJobName):
            JobName(bad)
    job = JobName("recon.daily-2")
    ids = {RunId.new("host", job, 1).value for _ in range(50)}
    assert len(ids) == 50 and all(len(i) == 16 for i in ids)  # unique even for the same start time


def _dead_run(state: Path, job: str) -> Path:
    run = RunContext(JobName(job), RunId.new("h", JobName(job)), "")
    path = spool_path(state, run.job, run.run_id)
    writer = SpoolWriter(path)
    writer.write(start_record(run, time.time_ns(), "prog", 4242, no_overlap=False))
    writer.close()
    with open(path, "ab") as handle:
        handle.write(b'{"timestamp":"2026-12-01T00:00:00Z","message":"torn')  # killed in the middle of a line
    return path


def test_sweep_ends_a_dead_run_once_and_leaves_a_live_one(tmp_path: Path) -> None:
    dead = _dead_run(tmp_path, "dead")
    live = _dead_run(tmp_path, "live")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys, time\n"
        f"h = open({str(run_lock_path(live))!r}, 'a+b')\n"
        "fcntl.flock(h.fileno(), fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(300)\n"
    )], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        assert recovery.sweep(tmp_path, grace=0) == 1
        assert recovery.sweep(tmp_path, grace=0) == 0  # never twice
    finally:
        holder.kill()
        holder.wait()
    lines = dead.read_bytes().splitlines()
    assert lines[1].endswith(b'"torn')  # the torn line is kept, ended by a newline
    end = recovery.last_record(dead)[0]
    assert end is not None and end["job.outcome"] == "ended_unknown" and end["process.pid"] == 4242
    assert not recovery.is_ended(live)
    assert recovery.sweep(tmp_path, grace=3600) == 0  # a shipper waits out the grace period
    assert recovery.sweep(tmp_path, grace=0) == 1  # its holder is gone now


def test_prune_deletes_only_finished_spools_read_to_their_end(tmp_path: Path) -> None:
    finished = _dead_run(tmp_path, "finished")
    recovery.sweep(tmp_path, grace=0)
    unread = _dead_run(tmp_path, "unread")
    run = RunContext(JobName("unread"), RunId("0" * 16), "")
    with open(unread, "ab") as handle:
        handle.write(b"\n" + __import__("orjson").dumps(end_record(run, 0, Ending(Outcome.SUCCEEDED))) + b"\n")

    class Entry:  # what prune reads of a checkpoint (shipper.checkpoint.Checkpoint): its path and offset
        def __init__(self, path: Path, offset: int) -> None:
            self.path, self.offset = str(path), offset

    shipped = {1: Entry(finished, finished.stat().st_size), 2: Entry(unread, 10)}
    assert recovery.prune(tmp_path, shipped, retention=0) == 1  # type: ignore[arg-type]
    assert spools(tmp_path) == [unread]
    assert not run_lock_path(finished).exists()


def test_timeout_without_a_broker_kills_the_group(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    config = shipper_config(tmp_path, f"127.0.0.1:{free_port()}", "never", jobs="kill_grace = 1.0",
                            kafka="connect_timeout = 1.0")
    script = f"trap '' TERM; sleep 300 & echo $! > {pids}; sleep 300"  # ignores SIGTERM: SIGKILL ends it
    result = run_exec(config, "stubborn", "sh", "-c", script, options=("--timeout", "1s", "--quiet"))
    end = list(spool_records(tmp_path))[-1]
    assert end["job.outcome"] == "timed_out" and end["job.signal"] == "SIGKILL"
    assert result.returncode == 128 + signal.SIGKILL
    for pid in (end["process.pid"], int(pids.read_text())):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            continue
        assert state in ("Z", "X"), f"process {pid} still runs"
