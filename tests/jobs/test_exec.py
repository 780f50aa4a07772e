"""`shipper exec` against the real broker, indexed by the real consumer into SQLite: the run's start, every output
line, its end, exactly once, through the spool, whatever happens to the broker or to exec itself."""

import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from schemas.validate import schema_errors
from shipper.checkpoint.lock import StateLock
from tests.consumer.helpers import STARTED
from tests.jobs.support import (
    GROUPS,
    Index,
    by_name,
    python,
    run_exec,
    shipper_config,
    spool_records,
    start_exec,
)
from tests.shipper.support import wait_until
from tests.support.kafka import dedicated_broker, new_topic
from tests.support.proxy import TcpForwarder, free_port

pytestmark = pytest.mark.kafka

TEN_THOUSAND = "import sys\nfor i in range(10000):\n    print(f'line {i:05d} of the report')\nsys.exit(3)\n"


def test_ten_thousand_lines_and_exit_3_are_one_start_every_line_one_end(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str,
) -> None:
    config = shipper_config(tmp_path, kafka_bootstrap, kafka_topic)
    result = run_exec(config, "report", *python(TEN_THOUSAND), options=("--quiet",))
    assert result.returncode == 3, result.stderr.decode()
    index = Index(tmp_path, kafka_bootstrap, kafka_topic)
    index.catch_up()
    events = index.events(**{"job.name": "report"})
    assert index.rows() == len(events) == 10_002
    assert len(by_name(events, "job.start")) == 1
    output = by_name(events, "job.output")
    assert [e["body"] for e in output] == [f"line {i:05d} of the report" for i in range(10_000)]
    assert {e["attributes"]["log.iostream"] for e in output} == {"stdout"}
    (end,) = by_name(events, "job.end")
    assert end["attributes"]["job.exit_code"] == 3
    assert end["attributes"]["job.outcome"] == "failed"
    assert end["attributes"]["job.timed_out"] is False
    assert end["attributes"]["job.output.stdout_lines"] == 10_000
    assert end["attributes"]["job.duration.wall_ms"] > 0 and end["attributes"]["job.duration.cpu_ms"] > 0
    assert end["attributes"]["job.memory.peak_bytes"] > 0
    assert end["severity_text"] == "ERROR"
    assert len({e["attributes"]["job.run.id"] for e in events}) == 1
    assert {e["resource"]["host.id"] for e in events} == {"jobs-test"}
    assert [schema_errors(e) for e in (events[0], events[1], end)] == [[], [], []]  # the job fields by the schema


def test_stdout_and_stderr_keep_their_order_per_stream_and_are_parsed(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str,
) -> None:
    code = (
        "import sys\n"
        "for i in range(3000):\n"
        "    out = sys.stderr if i % 3 == 0 else sys.stdout\n"
        "    level = 'ERROR' if out is sys.stderr else 'INFO'\n"
        "    print(f'2026-12-01T10:00:00.{i:06d}Z {level} step {i}', file=out, flush=i % 7 == 0)\n"
    )
    config = shipper_config(tmp_path, kafka_bootstrap, kafka_topic)
    result = run_exec(config, "mixed", *python(code), options=("--service", "billing", "--quiet"))
    assert result.returncode == 0, result.stderr.decode()
    index = Index(tmp_path, kafka_bootstrap, kafka_topic)
    index.catch_up()
    output = by_name(index.events(**{"job.name": "mixed"}), "job.output")
    assert len(output) == 3000
    for stream, keep in (("stderr", lambda i: i % 3 == 0), ("stdout", lambda i: i % 3 != 0)):
        lines = [e for e in output if e["attributes"]["log.iostream"] == stream]  # in spool order
        assert [e["body"] for e in lines] == [f"step {i}" for i in range(3000) if keep(i)]
    errors = [e for e in output if e["attributes"]["log.iostream"] == "stderr"]
    assert {e["severity_text"] for e in errors} == {"ERROR"}
    assert errors[1]["timestamp"] == "2026-12-01T10:00:00.000003000Z"  # the line's own time, parsed
    assert errors[1]["attributes"]["log.record.original"] == "2026-12-01T10:00:00.000003Z ERROR step 3"
    assert {e["resource"]["service.name"] for e in output} == {"billing"}


def test_timeout_kills_the_whole_tree_and_the_end_says_so(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    pids = tmp_path / "pids"
    script = f"sleep 300 & echo $! > {pids}; echo started; sleep 300"
    config = shipper_config(tmp_path, kafka_bootstrap, kafka_topic, jobs="kill_grace = 2.0")
    result = run_exec(config, "slow", "sh", "-c", script, options=("--timeout", "3s", "--warn-after", "1s", "--quiet"))
    index = Index(tmp_path, kafka_bootstrap, kafka_topic)
    index.catch_up()
    events = index.events(**{"job.name": "slow"})
    (start,) = by_name(events, "job.start")
    (end,) = by_name(events, "job.end")
    assert end["attributes"]["job.outcome"] == "timed_out"
    assert end["attributes"]["job.timed_out"] is True
    assert end["attributes"]["job.signal"] == "SIGTERM"
    assert result.returncode == 128 + signal.SIGTERM
    (overrun,) = by_name(events, "job.overrun")  # past its usual time (--warn-after) before the timeout
    assert overrun["severity_text"] == "WARN" and end["attributes"]["job.overran"] is True
    assert [e["body"] for e in by_name(events, "job.output")] == ["started"]
    for pid in (start["attributes"]["process.pid"], int(pids.read_text())):
        assert not _running(pid), f"process {pid} of the timed-out job is still running"


def test_broker_unreachable_during_the_run_loses_nothing_and_indexes_each_event_once(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str,
) -> None:
    port = free_port()  # the bootstrap address: nothing answers there until the forwarder starts
    config = shipper_config(tmp_path, f"127.0.0.1:{port}", kafka_topic, kafka="connect_timeout = 3.0")
    code = "import sys\nfor i in range(500):\n    print(f'during the outage {i}')\nsys.exit(4)\n"
    result = run_exec(config, "offline", *python(code), options=("--quiet",))
    assert result.returncode == 4  # the job's code, whatever happened to the shipping
    assert sum(1 for _ in spool_records(tmp_path)) == 502  # kept for the next pass
    forwarder = TcpForwarder(port, kafka_bootstrap)
    try:
        second = run_exec(config, "online", *python("print('after the outage')"), options=("--quiet",))
        assert second.returncode == 0, second.stderr.decode()
        third = run_exec(config, "online", *python("print('again')"), options=("--quiet",))
        assert third.returncode == 0, third.stderr.decode()
    finally:
        forwarder.stop()
    index = Index(tmp_path, kafka_bootstrap, kafka_topic)
    index.catch_up()
    offline = index.events(**{"job.name": "offline"})
    assert [e["body"] for e in by_name(offline, "job.output")] == [f"during the outage {i}" for i in range(500)]
    assert [e["attributes"]["job.exit_code"] for e in by_name(offline, "job.end")] == [4]
    assert len(by_name(offline, "job.start")) == 1
    everything = index.events()
    assert index.rows() == len(everything) == 502 + 2 * 3
    assert max(Counter(e["event_id"] for e in everything).values()) == 1


# Three phases of 400 lines; between them the job waits for a flag file the test creates (at most 5 minutes).
PHASED = """import sys, time
from pathlib import Path
flags = Path(sys.argv[1])
for phase in range(3):
    for i in range(400):
        print(f"phase {phase} line {i:03d}", flush=True)
        if i % 50 == 0:
            time.sleep(0.01)
    if phase < 2:
        deadline = time.monotonic() + 300
        while not (flags / f"go{phase + 1}").exists():
            if time.monotonic() > deadline:
                sys.exit(9)
            time.sleep(0.05)
"""


@pytest.mark.slow
def test_the_broker_stopped_mid_run_and_restarted_under_a_running_shipper_loses_nothing_and_duplicates_nothing(
    tmp_path: Path,
) -> None:
    """The run is followed live by a shipper service (the spool's own input) while the broker is stopped with some
    of the run acknowledged and the rest in flight or not yet read, and started again: every event once."""
    with dedicated_broker(tmp_path / "kafka") as broker:
        topic = new_topic(broker.bootstrap)
        config = shipper_config(tmp_path, broker.bootstrap, topic)
        log = (tmp_path / "shipper.log").open("wb")
        service = subprocess.Popen(_shipper("run", config), stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
        STARTED.append(service)
        log.close()
        wait_until(lambda: StateLock(tmp_path / "state").holder() == service.pid, 60, "the service's state lock")
        flags = tmp_path / "flags"
        flags.mkdir()
        job = start_exec(config, "sync", *python(PHASED), str(flags))
        index = Index(tmp_path, broker.bootstrap, topic)

        def indexed() -> int:
            index.catch_up()
            return index.rows()

        wait_until(lambda: indexed() >= 100, 120, "the first phase's lines in the index")
        broker.stop()
        (flags / "go1").touch()  # the second phase is written while the broker is down
        wait_until(lambda: sum(1 for _ in spool_records(tmp_path)) >= 801, 60, "the second phase in the spool")
        broker.start()
        (flags / "go2").touch()
        assert job.wait(timeout=120) == 0
        wait_until(lambda: indexed() >= 1202, 180, "the whole run in the index")
        service.send_signal(signal.SIGTERM)
        assert service.wait(timeout=60) == 0, (tmp_path / "shipper.log").read_text(errors="replace")[-3000:]
        events = index.events(**{"job.name": "sync"})
        assert index.rows() == len(events) == 1202
        assert max(Counter(e["event_id"] for e in events).values()) == 1
        assert [e["body"] for e in by_name(events, "job.output")] == [
            f"phase {phase} line {i:03d}" for phase in range(3) for i in range(400)]
        assert [e["attributes"]["job.exit_code"] for e in by_name(events, "job.end")] == [0]


def test_exec_killed_mid_run_still_ships_its_lines_and_the_next_exec_ends_the_run_unknown(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str,
) -> None:
    code = "import time\nfor i in range(100):\n    print(f'before the kill {i}', flush=True)\ntime.sleep(300)\n"
    config = shipper_config(tmp_path, kafka_bootstrap, kafka_topic)
    killed = start_exec(config, "nightly", *python(code), options=("--quiet",))
    wait_until(lambda: sum(1 for _ in spool_records(tmp_path)) >= 101, 60, "the spooled lines")
    job_pid = next(spool_records(tmp_path))["process.pid"]
    GROUPS.append(job_pid)  # the job outlives its killed exec; ended after the test
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    result = run_exec(config, "other", *python("print('next run')"), options=("--quiet",))
    assert result.returncode == 0, result.stderr.decode()
    index = Index(tmp_path, kafka_bootstrap, kafka_topic)
    index.catch_up()
    events = index.events(**{"job.name": "nightly"})
    assert [e["body"] for e in by_name(events, "job.output")] == [f"before the kill {i}" for i in range(100)]
    (end,) = by_name(events, "job.end")
    assert end["attributes"]["job.outcome"] == "ended_unknown"
    assert end["attributes"]["job.run.id"] == by_name(events, "job.start")[0]["attributes"]["job.run.id"]


def test_a_running_shipper_ends_a_run_whose_exec_died_after_the_grace_period(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str,
) -> None:
    code = "import time\nprint('working', flush=True)\ntime.sleep(300)\n"
    config = shipper_config(tmp_path, kafka_bootstrap, kafka_topic, jobs="end_unknown_after = 1.0")
    killed = start_exec(config, "sync", *python(code), options=("--quiet", "--no-ship"))
    wait_until(lambda: sum(1 for _ in spool_records(tmp_path)) >= 2, 60, "the spooled line")
    GROUPS.append(next(spool_records(tmp_path))["process.pid"])
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    time.sleep(1.5)  # past the grace period (a condition of the scenario, not a timing asserted)
    shipped = subprocess.run(
        [*_shipper("run", config), "--once"], capture_output=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert shipped.returncode == 0, shipped.stderr.decode()
    index = Index(tmp_path, kafka_bootstrap, kafka_topic)
    index.catch_up()
    events = index.events(**{"job.name": "sync"})
    assert [e["body"] for e in by_name(events, "job.output")] == ["working"]
    assert [e["attributes"]["job.outcome"] for e in by_name(events, "job.end")] == ["ended_unknown"]


def test_no_overlap_refuses_and_records_a_second_run_and_sigterm_reaches_the_job(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str,
) -> None:
    code = "import time\nprint('first run', flush=True)\ntime.sleep(300)\n"
    config = shipper_config(tmp_path, kafka_bootstrap, kafka_topic)
    first = start_exec(config, "recon", *python(code), options=("--no-overlap", "--quiet"))
    wait_until(lambda: sum(1 for _ in spool_records(tmp_path)) >= 2, 60, "the first run's output")
    second = run_exec(config, "recon", *python("print('must not run')"), options=("--no-overlap", "--quiet"))
    assert second.returncode == 75
    first.send_signal(signal.SIGTERM)  # forwarded to the job, which ends by it; exec records it and exits
    assert first.wait(120) == 128 + signal.SIGTERM
    index = Index(tmp_path, kafka_bootstrap, kafka_topic)
    index.catch_up()
    events = index.events(**{"job.name": "recon"})
    (refused,) = by_name(events, "job.refused")
    assert refused["attributes"]["job.running_pid"] == first.pid
    assert "must not run" not in [e["body"] for e in events]
    (end,) = by_name(events, "job.end")
    assert end["attributes"]["job.signal"] == "SIGTERM"
    assert end["attributes"]["job.outcome"] == "killed"
    assert not _running(end["attributes"]["process.pid"])


def test_consumer_search_shows_a_jobs_runs_and_a_runs_output(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    config = shipper_config(tmp_path, kafka_bootstrap, kafka_topic)
    for code in (0, 2):
        result = run_exec(config, "cleanup", *python(f"print('removed files'); raise SystemExit({code})"),
                          options=("--quiet",))
        assert result.returncode == code
    index = Index(tmp_path, kafka_bootstrap, kafka_topic)
    index.catch_up()
    from tests.consumer.helpers import run_consumer

    runs = run_consumer("search", "--config", str(index.config), "--job", "cleanup", "--json")
    assert runs.returncode == 0, runs.stderr
    import orjson

    ends = [orjson.loads(line) for line in runs.stdout.splitlines()]
    assert sorted(e["attributes"]["job.exit_code"] for e in ends) == [0, 2]
    run_id = ends[0]["attributes"]["job.run.id"]
    one = run_consumer("search", "--config", str(index.config), "--job", "cleanup", "--run", run_id)
    assert one.returncode == 0, one.stderr
    assert len(one.stdout.splitlines()) == 3 and "removed files" in one.stdout
    bad = run_consumer("search", "--config", str(index.config), "--run", run_id)
    assert bad.returncode == 2 and "--run needs --job" in bad.stderr


def _shipper(command: str, config: Path) -> list[str]:
    import sys

    return [sys.executable, "-m", "shipper", command, "--config", str(config)]


def _running(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie waiting for its parent counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")
