"""The overhead of `shipper exec` on a job that writes many lines: wall time of the job run under exec against the
same job with its output redirected to a file.

    [KAFKA_BOOTSTRAP_SERVERS=host:port] .venv/bin/python bench/exec_overhead.py [--lines 1000000] [--rounds 3]

The job is a Python program writing --lines lines (a timestamp, a level and some text, as a batch job logs) to
stdout. Per round, in A B A B order so the machine's slow periods hit both alike:
- `file`: `python job.py > out.log` (the baseline: a scheduler redirecting output to a file);
- `exec`: `shipper exec --quiet --no-ship -- python job.py`: every line read, parsed (auto), spooled;
- `exec+ship` (when KAFKA_BOOTSTRAP_SERVERS is set): the same, plus the once-pass that ships the spool to Kafka and
  waits for every acknowledgement before exec exits.
Each run gets a fresh state directory. Printed: the wall time of each run, the medians, and exec's overhead (median
exec / median file), plus exec's CPU time (user + sys of exec and the job, from the children's rusage).
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

JOB = """import sys
write = sys.stdout.write
for i in range({lines}):
    write(f"2026-12-01T10:00:00.{{i % 1000000:06d}}Z INFO batch item {{i}} processed rows=12 took 3ms\\n")
"""


def config(directory: Path, bootstrap: str, topic: str) -> Path:
    path = directory / "shipper.toml"
    path.write_text(
        f'[shipper]\nstate_dir = "{directory / "state"}"\nhost_id = "bench"\n\n'
        f'[kafka]\nbootstrap_servers = "{bootstrap}"\ntopic = "{topic}"\n\n'
        f'[[inputs]]\nid = "nothing"\npaths = ["{directory / "none" / "*.log"}"]\n'
    )
    return path


def timed(command: list[str], stdout: object) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and its descendants)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    code = subprocess.run(command, stdout=stdout, stdin=subprocess.DEVNULL).returncode  # type: ignore[call-overload]
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code != 0:
        raise SystemExit(f"{command[:4]} exited {code}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    modes = ["file", "exec"] + (["exec+ship"] if bootstrap else [])
    results: dict[str, list[tuple[float, float]]] = {mode: [] for mode in modes}
    with tempfile.TemporaryDirectory(prefix="exec-bench-") as temp:
        root = Path(temp)
        job = root / "job.py"
        job.write_text(JOB.format(lines=args.lines))
        for round_number in range(args.rounds):
            for mode in modes:
                run_dir = root / f"{mode}-{round_number}"
                run_dir.mkdir()
                if mode == "file":
                    with open(run_dir / "out.log", "wb") as out:
                        figures = timed([sys.executable, str(job)], out)
                else:
                    conf = config(run_dir, bootstrap or "127.0.0.1:9", f"bench-exec-{uuid.uuid4().hex[:8]}")
                    options = ["--quiet"] + ([] if mode == "exec+ship" else ["--no-ship"])
                    command = [sys.executable, "-m", "shipper", "exec", "--config", str(conf), "--job", "bench",
                               *options, "--", sys.executable, str(job)]
                    figures = timed(command, subprocess.DEVNULL)
                results[mode].append(figures)
                print(f"round {round_number + 1} {mode:<9} wall {figures[0]:7.2f} s  cpu {figures[1]:7.2f} s", flush=True)
    print(f"\n{args.lines:,} lines, {args.rounds} rounds, medians:")
    base = statistics.median(w for w, _ in results["file"])
    for mode in modes:
        wall = statistics.median(w for w, _ in results[mode])
        cpu = statistics.median(c for _, c in results[mode])
        rate = args.lines / wall
        print(f"  {mode:<9} wall {wall:7.2f} s ({rate:,.0f} lines/s)  cpu {cpu:7.2f} s  x{wall / base:5.2f} of file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
