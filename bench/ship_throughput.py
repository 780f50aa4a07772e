"""End-to-end shipper throughput: files -> parse -> Kafka acknowledged -> checkpointed, with `run --once`.

    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 .venv/bin/python bench/ship_throughput.py [--lines 2000000] [--files 4]
        [--exclude-lines REGEX] [--redact credit_card,email,...] [--rounds 2]

Generates mixed-format lines (JSON, nginx combined, Go log, RFC 3164 syslog, plain), ships them with format
"auto" and with format "plain" (which separates reading + delivery from parsing), and prints lines/s, MiB/s
and the shipper's peak RSS. Without KAFKA_BOOTSTRAP_SERVERS it starts compose/kafka/local-kafka.

With --exclude-lines and/or --redact (shipper.processing), each format also runs with that processing on, the
unfiltered and the processed run alternating (A B A B for --rounds 2): `processing=none` is the input without any
processing key (its hot path is the one without processing), `processing=on` the same lines through the filter
and the redaction rules. `lines` is always the lines read, so excluded lines count as handled.
"""

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def mixed_line(i: int, rng: random.Random) -> str:
    kind = i % 5
    if kind == 0:
        return (
            f'{{"time":"2024-05-01T12:{i % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z","level":"info","msg":"request done",'
            f'"status":{200 + i % 5},"duration_ms":{rng.random() * 100:.3f},"path":"/api/v1/items/{i}"}}'
        )
    if kind == 1:
        return (
            f'10.0.{i % 256}.{i % 200} - - [01/May/2024:12:{i % 60:02d}:{i % 60:02d} +0000] "GET /index/{i}.html HTTP/1.1" '
            f'200 {i % 9000} "https://example.com/" "Mozilla/5.0 (X11; Linux x86_64)"'
        )
    if kind == 2:
        return f"2024/05/01 12:{i % 60:02d}:{i % 60:02d} worker {i % 17} finished job {i} in {i % 977}ms"
    if kind == 3:
        return (
            f"<34>May  1 12:{i % 60:02d}:{i % 60:02d} host-{i % 9} sshd[{1000 + i % 5000}]: "
            f"Accepted publickey for user{i % 40}"
        )
    return f"plain text line number {i} with some words in it to look like a message"


def generate(directory: Path, lines: int, files: int) -> int:
    rng = random.Random(7)
    handles = [open(directory / f"app-{n}.log", "w", encoding="utf-8") for n in range(files)]  # noqa: SIM115
    for i in range(lines):
        handles[i % files].write(mixed_line(i, rng) + "\n")
    for handle in handles:
        handle.close()
    return sum(os.path.getsize(directory / f"app-{n}.log") for n in range(files))


def processing_toml(exclude_lines: str, redact: str) -> str:
    """The [[inputs]] keys of the processed runs (TOML literal strings: a pattern's backslashes stay as they are)."""
    text = f"exclude_lines = ['{exclude_lines}']\n" if exclude_lines else ""
    for name in filter(None, redact.split(",")):
        text += f'[[inputs.redact]]\nbuiltin = "{name.strip()}"\n'
    return text


def ship(directory: Path, bootstrap: str, fmt: str, lines: int, size: int, *, processing: str = "") -> None:
    label = "on" if processing else "none"
    run = uuid.uuid4().hex[:8]
    state = directory / f"state-{fmt}-{run}"
    config = directory / f"shipper-{fmt}-{run}.toml"
    config.write_text(
        f'[shipper]\nstate_dir = "{state}"\nhost_id = "bench"\nlog_format = "json"\nlog_level = "warning"\n'
        f'[kafka]\nbootstrap_servers = "{bootstrap}"\ntopic = "bench-{run}"\n'
        f'[[inputs]]\nid = "bench"\npaths = ["{directory}/*.log"]\nformat = "{fmt}"\n{processing}'
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "shipper", "run", "--once", "--config", str(config)], cwd=ROOT)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"the shipper exited with {result.returncode}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # Wall figures depend on what else runs on the machine (the broker shares it); CPU per line does much less.
    print(
        f"format={fmt:<5} processing={label:<4} lines={lines} bytes={size / 2**20:.1f}MiB wall={elapsed:.2f}s "
        f"lines/s={lines / elapsed:,.0f} MiB/s={size / 2**20 / elapsed:.1f} cpu={cpu:.1f}s "
        f"cpu_per_line={cpu / lines * 1e6:.2f}us "
        f"peak_rss={after.ru_maxrss / 1024:.0f}MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--formats", default="plain,auto")
    parser.add_argument("--exclude-lines", default="", help="an exclude_lines pattern for the processed runs")
    parser.add_argument("--redact", default="", help="built-in redaction patterns for the processed runs, by comma")
    parser.add_argument("--rounds", type=int, default=1, help="times each run is repeated, alternating")
    args = parser.parse_args()
    processing = processing_toml(args.exclude_lines, args.redact)
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        line = subprocess.run([str(ROOT / "compose/kafka/local-kafka"), "start"], capture_output=True, text=True, check=True)
        bootstrap = line.stdout.strip().splitlines()[-1].split("=", 1)[1]
    with tempfile.TemporaryDirectory(prefix="ship-bench-") as tmp:
        directory = Path(tmp)
        size = generate(directory, args.lines, args.files)
        print(f"generated {args.lines} lines, {size / 2**20:.1f} MiB in {args.files} files; broker {bootstrap}")
        for fmt in args.formats.split(","):
            for _ in range(args.rounds):
                ship(directory, bootstrap, fmt, args.lines, size)
                if processing:
                    ship(directory, bootstrap, fmt, args.lines, size, processing=processing)


if __name__ == "__main__":
    main()
