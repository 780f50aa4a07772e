"""The console's jobs view (GET /api/jobs, consumer/console/jobs.py) on a large SQLite index: the last runs per job
found among a million other events, with and without the word `job` that lets SQLite's full-text index preselect
the runs' events (the view asks for it; without it the attribute check reads every event newest first).

Builds (once; `--rebuild` again) bench/console_latency.py's index of `--events` events over the last 24 hours, plus
`--jobs` jobs x `--runs` runs spread over the same day, each run a start, `--lines` output lines and an end, as
`shipper exec` records them (shipper.jobs.records; the spool's json mapping: message as body, the rest attributes).
Then times, A B A B in the same minutes: /api/jobs over HTTP (`consumer serve` on the index) and, in process,
`job_runs` as shipped (A) and with the marker word removed (B).

    .venv/bin/python bench/console_jobs_latency.py [--events 1000000] [--jobs 20] [--runs 48] [--repeat 5]
"""

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from console_latency import NS, TOPIC, ConsoleDidNotStart, build, get, served  # noqa: E402

from consumer.config import parse_config  # noqa: E402
from consumer.console import jobs as jobs_view  # noqa: E402
from consumer.console.readers import ReaderPool  # noqa: E402
from consumer.records import Batch  # noqa: E402
from consumer.sinks.sqlite import SqliteSink  # noqa: E402
from consumer.sinks.sqlite_rows import event_row, timestamp_ns  # noqa: E402
from schemas import new_event, serialize, stream_id  # noqa: E402
from shipper.jobs.identity import JobName, RunId  # noqa: E402
from shipper.jobs.records import Ending, EventName, Outcome, RunContext, end_record, start_record  # noqa: E402

NOT_ATTRIBUTES = ("timestamp", "level", "message", "service")
LEVELS = {"INFO": 9, "WARN": 13, "ERROR": 17}


def add_jobs(path: Path, jobs: int, runs: int, lines: int, first_offset: int) -> int:
    """Append the job runs to the index at `path`; how many events."""
    sink = SqliteSink(str(path), lambda letters: None)
    sink.setup()
    sink.stored_offsets([(TOPIC, 0)])
    now = time.time_ns()
    offset = first_offset
    batch = Batch()
    for j in range(jobs):
        job = JobName(f"job-{j:02d}")
        stream = stream_id("host-jobs", f"/state/jobs/{job}")
        for r in range(runs):
            started = now - 24 * 3600 * NS + (r * 24 * 3600 * NS) // runs + j * NS
            run = RunContext(job, RunId.new("host-jobs", job, started), "batch")
            records = [start_record(run, started, "/opt/jobs/run", 100 + r, no_overlap=False)]
            records += [{**run.base(EventName.OUTPUT, started + (i + 1) * 1000, None, f"row {i} copied"),
                         "log.iostream": "stdout"} for i in range(lines)]
            records.append(end_record(run, started + (lines + 1) * 1000, Ending(
                Outcome.SUCCEEDED if r % 7 else Outcome.FAILED, exit_code=0 if r % 7 else 2, wall_ms=12.0,
                lines={"stdout": lines, "stderr": 0})))
            for record in records:
                stamp = timestamp_ns(record["timestamp"])
                level = record.get("level")
                event = new_event(
                    stream=stream, offset=offset * 10, timestamp_ns=stamp, observed_ns=stamp, body=record["message"],
                    resource={"service.name": "batch", "host.name": "host-jobs", "host.id": "host-jobs"},
                    input_id="_jobs", log_format="json", severity_text=level, severity_number=LEVELS.get(level or "", 0),
                    attributes={k: v for k, v in record.items() if k not in NOT_ATTRIBUTES},
                )
                batch.items.append(event_row(event, serialize(event)))
                batch.sources.append((TOPIC, 0, offset))
                offset += 1
    batch.next_offsets[(TOPIC, 0)] = offset
    batch.consumed = len(batch.items)
    sink.add(batch)
    sink.flush()
    sink.close()
    return offset - first_offset


def timed(work: Callable[[], object], repeat: int) -> list[float]:
    found = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        found.append((time.perf_counter() - started) * 1000)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--runs", type=int, default=48)
    parser.add_argument("--lines", type=int, default=20)
    parser.add_argument("--dir", type=Path, default=ROOT / ".cache" / "bench-console")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    db = args.dir / f"console-jobs-{args.events}-{args.jobs}x{args.runs}.db"
    if args.rebuild or not db.exists():
        seconds = build(db, args.events)
        added = add_jobs(db, args.jobs, args.runs, args.lines, args.events)
        print(f"built {args.events} events in {seconds:.1f} s, plus {added} job events, at {db}")
    config_path = args.dir / "consumer-jobs.toml"
    config_path.write_text(f'[kafka]\ntopics = ["{TOPIC}"]\n\n[sink]\ntype = "sqlite"\npath = "{db}"\n')
    pool = ReaderPool(parse_config({"kafka": {"topics": [TOPIC]}, "sink": {"type": "sqlite", "path": str(db)}}))
    try:
        with served(config_path) as base:
            return measure(base, pool, args.repeat)
    finally:
        pool.close()


def measure(base: str, pool: ReaderPool, repeat: int) -> int:
    """GET /api/jobs over HTTP, and the view's query in process with and without the marker word, A B A B."""
    shipped = jobs_view.MARKER_WORD
    results: dict[str, list[float]] = {"http": [], "A": [], "B": []}
    answer = None
    for _round in range(2):  # A B A B
        for _ in range(repeat):
            ms, answer = get(base, "/api/jobs", {})
            results["http"].append(ms)
        jobs_view.MARKER_WORD = shipped
        results["A"] += timed(lambda: jobs_view.job_runs(pool), repeat)
        jobs_view.MARKER_WORD = ""
        results["B"] += timed(lambda: jobs_view.job_runs(pool), repeat)
        jobs_view.MARKER_WORD = shipped
    assert answer is not None
    runs = sum(len(j["runs"]) for j in answer["jobs"])
    print(f"{len(answer['jobs'])} jobs, {runs} runs listed (complete: {answer['complete']})")
    print(f"{'case':<58} {'median ms':>10} {'max ms':>8}")
    for name, key in (("GET /api/jobs over HTTP (as shipped)", "http"),
                      ("job_runs in process, text 'job' + event.name (A, shipped)", "A"),
                      ("job_runs in process, event.name only (B)", "B")):
        print(f"{name:<58} {statistics.median(results[key]):>10.1f} {max(results[key]):>8.1f}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ConsoleDidNotStart as error:
        print("the console did not start:", error)
        sys.exit(1)
