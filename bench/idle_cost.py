"""What the shipper costs when nothing happens: CPU share of one core and RSS while following idle files.

    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 .venv/bin/python bench/idle_cost.py [--files 1000,10000] [--seconds 60]

For each count: writes that many files of a few lines each, starts `python -m shipper run` on them (default
settings but the state directory, a metrics address and a fresh topic), waits until every line is acknowledged
by Kafka (read from its /metrics) and then --settle seconds more, and measures the process's user+system CPU
over --seconds from /proc/<pid>/stat, with the current and peak RSS from /proc/<pid>/status, and the CPU of each
thread (so the main loop, the file-system event thread and librdkafka's threads can be told apart). Nothing
scrapes the metrics during the measurement. Prints figures only; asserts nothing. Linux only (/proc).
With --profile, py-spy samples the idle shipper after the measurement, to say where the CPU goes.

Target (issue #11): < 0.5% of a core with 1,000 idle files and RSS <= 64 MB.
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TICK = os.sysconf("SC_CLK_TCK")
LINES_PER_FILE = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_ticks(stat_path: str) -> int:
    """utime + stime of a /proc/.../stat file (fields 14 and 15; the name in parentheses may hold spaces)."""
    with open(stat_path) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def threads(pid: int) -> dict[str, tuple[str, int]]:
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as handle:
                name = handle.read().strip()
            out[tid] = (name, cpu_ticks(f"/proc/{pid}/task/{tid}/stat"))
        except OSError:
            continue  # the thread ended
    return out


def memory(pid: int) -> tuple[float, float]:
    """Current and peak resident set size in MB."""
    values = {}
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def metric(address: str, name: str) -> float:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{}"):
                return float(line.rsplit(" ", 1)[1])
    return -1.0


@contextmanager
def shipper(config: Path, log: Path, root: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "shipper", "run", "--config", str(config)], cwd=root, stdout=output, stderr=output
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_shipped(process: subprocess.Popen[bytes], address: str, expected: int, timeout: float) -> float:
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the shipper exited with {process.returncode}")
        try:
            produced = metric(address, "logferry_shipper_produced_events_total")
            inflight = metric(address, "logferry_shipper_inflight_records")
        except OSError:
            produced, inflight = -1.0, -1.0  # not serving yet
        if produced >= expected and inflight == 0:
            return time.monotonic() - started
        time.sleep(0.5)
    raise SystemExit(f"not every line was acknowledged within {timeout} s")


def measure(
    count: int, bootstrap: str, *, seconds: float, settle: float, extra: str, code: Path, profile: str
) -> None:
    with tempfile.TemporaryDirectory(prefix="idle-cost-") as temporary:
        root = Path(temporary)
        logs = root / "logs"
        for i in range(count):
            directory = logs / f"d{i // 1000:03d}"
            if i % 1000 == 0:
                directory.mkdir(parents=True)
            (directory / f"app-{i:05d}.log").write_text(
                "".join(f"file {i} line {n} of an application that went quiet\n" for n in range(LINES_PER_FILE))
            )
        address = f"127.0.0.1:{free_port()}"
        config = root / "shipper.toml"
        config.write_text(
            f'[shipper]\nstate_dir = "{root / "state"}"\nhost_id = "idle-bench"\nmetrics_address = "{address}"\n'
            f'log_format = "json"\n{extra}'
            f'[kafka]\nbootstrap_servers = "{bootstrap}"\ntopic = "bench-idle-{uuid.uuid4().hex[:8]}"\n'
            f'[[inputs]]\nid = "idle"\npaths = ["{logs}/**/*.log"]\nformat = "plain"\n'
        )
        with shipper(config, root / "shipper.log", code) as process:
            took = wait_shipped(process, address, count * LINES_PER_FILE, timeout=600)
            time.sleep(settle)
            pid = process.pid
            before, threads_before = cpu_ticks(f"/proc/{pid}/stat"), threads(pid)
            started = time.monotonic()
            time.sleep(seconds)
            elapsed = time.monotonic() - started
            after, threads_after = cpu_ticks(f"/proc/{pid}/stat"), threads(pid)
            rss, peak = memory(pid)
            if process.poll() is not None:
                raise SystemExit(f"the shipper exited with {process.returncode} while idle")
            if profile:
                # After the measurement, so the sampler's own cost is not in the figures.
                out = Path(f"{profile}-{count}.txt").resolve()
                subprocess.run(
                    [str(Path(sys.executable).parent / "py-spy"), "record", "--nonblocking", "--format", "raw",
                     "--rate", "200", "--duration", str(int(seconds)), "--pid", str(pid), "--output", str(out)],
                    check=True, capture_output=True,
                )
                print(f"        collapsed stacks of the idle shipper in {out}")
        share = (after - before) / TICK / elapsed * 100
        print(
            f"{count:>6} idle files: {share:5.2f}% of a core over {elapsed:.0f} s, RSS {rss:.0f} MB "
            f"(peak {peak:.0f} MB); all {count * LINES_PER_FILE} lines acknowledged {took:.1f} s after start"
        )
        busy = []
        for tid, (name, ticks) in threads_after.items():
            spent = ticks - threads_before.get(tid, (name, 0))[1]
            busy.append((spent, name, tid == str(pid)))
        for spent, name, main in sorted(busy, reverse=True)[:6]:
            if spent:
                label = "main" if main else name
                print(f"        {label:<16} {spent / TICK / elapsed * 100:5.2f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", default="1000,10000", help="comma-separated file counts")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the measurement")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds idle before measuring")
    parser.add_argument("--shipper", default="", help='extra [shipper] lines, e.g. "rescan_interval = 10.0"')
    parser.add_argument("--code", default=str(ROOT), help="checkout whose shipper runs (for a before/after)")
    parser.add_argument(
        "--profile", default="", help="after measuring, sample the idle shipper with py-spy into PREFIX-<count>.txt "
        "(collapsed stacks; `.venv/bin/pip install py-spy`)",
    )
    args = parser.parse_args()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        raise SystemExit("set KAFKA_BOOTSTRAP_SERVERS to a running broker")
    extra = "".join(line.strip() + "\n" for line in args.shipper.split(";") if line.strip())
    for count in (int(c) for c in args.files.split(",")):
        measure(
            count, bootstrap, seconds=args.seconds, settle=args.settle, extra=extra, code=Path(args.code), profile=args.profile
        )


if __name__ == "__main__":
    main()
