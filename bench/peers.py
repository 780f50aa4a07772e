"""logferry beside other shippers: the same mixed file to the same broker, A B A B, median of the runs.

    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:35289 .venv/bin/python bench/peers.py [--lines 1000000] [--runs 3]
        [--peers logferry-auto,logferry-plain,kcat,rsyslog]

The file is parse_throughput.py's mixed corpus (JSON, nginx combined, Go log, RFC 3164 syslog, interleaved line by
line), one file. Each peer ships it to a fresh topic of the shared broker with acks=all and lz4:

- logferry-auto / logferry-plain: `python -m shipper run --once` with format auto / plain (parsed events / raw lines
  as events); done when it exits (everything acknowledged and checkpointed);
- kcat: `kcat -P -z lz4 -X acks=all` reading the file line by line, one message a line; done when it exits;
- rsyslog: rsyslogd in the foreground with imfile (inotify) and omkafka, a private config, work directory, pid file
  and imfile state under the run's directory; done when the topic's end offsets reach the line count, then stopped.

Per run it records the wall time to completion, the CPU of the process and its children (utime + stime, from
wait4's rusage) and its peak RSS (VmHWM sampled from /proc), and checks that the topic holds one message per line.
A peer whose binary is missing is skipped with one line. The runs go round-robin (A B C D, A B C D, ...) so that
the machine's slow periods spread over every peer; the table gives the median of each figure. The broker's own CPU
is not counted for anyone.
Prints figures; asserts nothing.
"""

import argparse
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.parse_throughput import GENERATORS, MIXED, _build  # noqa: E402

DEFAULT_BOOTSTRAP = "127.0.0.1:35289"
STALL_SECONDS = 120.0  # a peer that delivers nothing new for this long is given up on


@dataclass(frozen=True)
class Corpus:
    path: Path
    lines: int
    size: int


@dataclass(frozen=True)
class Usage:
    """What wait4 reports for a finished process (itself and the children it waited for)."""

    exit_code: int
    cpu_seconds: float
    peak_rss_bytes: int


@dataclass(frozen=True)
class RunResult:
    peer: str
    wall_seconds: float
    usage: Usage
    delivered: int
    lines: int

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.wall_seconds

    @property
    def cpu_us_per_line(self) -> float:
        return self.usage.cpu_seconds / self.lines * 1e6

    @property
    def complete(self) -> bool:
        return self.delivered == self.lines and self.usage.exit_code == 0

    def render(self) -> str:
        status = "ok" if self.complete else f"INCOMPLETE delivered={self.delivered} exit={self.usage.exit_code}"
        return (
            f"{self.peer:<15} wall={self.wall_seconds:7.2f}s lines/s={self.lines_per_second:>9,.0f} "
            f"cpu={self.usage.cpu_seconds:6.2f}s cpu/line={self.cpu_us_per_line:6.2f}us "
            f"peak_rss={self.usage.peak_rss_bytes / 1e6:6.1f}MB {status}"
        )


# ----- the corpus and the broker ------------------------------------------------------------------------------


def write_corpus(path: Path, lines: int) -> Corpus:
    """parse_throughput's interleaved mix, written as it is generated (the same lines as its `_mixed`)."""
    rngs = {name: random.Random(index) for index, name in enumerate(MIXED)}
    with open(path, "w", encoding="utf-8") as out:
        for i in range(lines):
            name = MIXED[i % len(MIXED)]
            out.write(GENERATORS[name](i // len(MIXED), rngs[name]) + "\n")
    return Corpus(path, lines, path.stat().st_size)


class Broker:
    """The shared broker: fresh topics, their end offsets, and their deletion after the run."""

    def __init__(self, bootstrap: str) -> None:
        from confluent_kafka import Consumer
        from confluent_kafka.admin import AdminClient

        self.bootstrap = bootstrap
        self.admin = AdminClient({"bootstrap.servers": bootstrap})
        self.offsets = Consumer({"bootstrap.servers": bootstrap, "group.id": f"peers-{uuid.uuid4().hex[:8]}"})
        self.partitions: dict[str, int] = {}

    def new_topic(self, peer: str, partitions: int) -> str:
        from tests.support.kafka import new_topic

        name = new_topic(self.bootstrap, partitions=partitions, prefix=f"peers-{peer}")
        self.partitions[name] = partitions
        return name

    def end_offsets(self, topic: str) -> int:
        """Messages in `topic`: the sum of its partitions' high watermarks (retried until the broker answers)."""
        from confluent_kafka import KafkaException, TopicPartition

        deadline = time.monotonic() + 60
        while True:
            try:
                return sum(
                    self.offsets.get_watermark_offsets(TopicPartition(topic, p), timeout=5, cached=False)[1]
                    for p in range(self.partitions[topic])
                )
            except KafkaException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def delete(self, topic: str) -> None:
        # The broker is shared: gigabytes of benchmark topics slow its next start for everyone.
        for future in self.admin.delete_topics([topic], operation_timeout=30).values():
            try:
                future.result(timeout=60)
            except Exception as error:
                print(f"  (topic {topic} could not be deleted: {error})")

    def close(self) -> None:
        self.offsets.close()


# ----- running a process and measuring it ---------------------------------------------------------------------


class PeakRss:
    """Samples a running process's VmHWM (its resident high-water mark) from /proc.

    wait4's ru_maxrss cannot be used: Linux carries the forking parent's resident size into the child's maxrss at
    exec, so every peer would report at least this bench's own ~40 MB. VmHWM belongs to the exec'd image alone and
    only grows, so sampling it until the process exits misses at most the last interval's growth."""

    interval = 0.02

    def __init__(self, pid: int) -> None:
        self.status = Path(f"/proc/{pid}/status")
        self.peak_kib = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, name="peak-rss", daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        while not self.done.is_set():
            try:
                text = self.status.read_text()
            except OSError:
                return
            match = re.search(r"^VmHWM:\s+(\d+) kB", text, re.MULTILINE)
            if match:
                self.peak_kib = max(self.peak_kib, int(match[1]))
            self.done.wait(self.interval)

    def stop(self) -> int:
        self.done.set()
        self.thread.join()
        return self.peak_kib * 1024


def wait_usage(process: "subprocess.Popen[bytes]", peak: PeakRss) -> Usage:
    """Reap `process` with wait4: CPU of it and of the children it waited for; the sampled peak RSS."""
    _, status, rusage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return Usage(process.returncode, rusage.ru_utime + rusage.ru_stime, peak.stop())


def spawn(argv: list[str], log: Path, stdin: Path | None = None, cwd: Path = ROOT) -> "subprocess.Popen[bytes]":
    with open(log, "ab") as out:
        source = open(stdin, "rb") if stdin else subprocess.DEVNULL  # noqa: SIM115 - closed below, after the fork
        try:
            return subprocess.Popen(argv, stdin=source, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
        finally:
            if stdin:
                source.close()  # type: ignore[union-attr]


def run_to_exit(argv: list[str], log: Path, stdin: Path | None = None) -> tuple[float, Usage]:
    started = time.perf_counter()
    process = spawn(argv, log, stdin)
    usage = wait_usage(process, PeakRss(process.pid))
    return time.perf_counter() - started, usage


# ----- the peers ------------------------------------------------------------------------------------------------


class Peer:
    """One shipper under test: whether it can run here, and one run of it to a topic."""

    name = ""

    def missing(self) -> str | None:
        """Why this peer cannot run on this machine, or None."""
        return None

    def run(self, corpus: Corpus, broker: Broker, topic: str, work: Path) -> tuple[float, Usage]:
        """Ship the corpus to `topic`; the wall seconds until it was all delivered, and the process's usage."""
        raise NotImplementedError


class Logferry(Peer):
    def __init__(self, log_format: str) -> None:
        self.log_format = log_format
        self.name = f"logferry-{log_format}"

    def run(self, corpus: Corpus, broker: Broker, topic: str, work: Path) -> tuple[float, Usage]:
        config = work / "shipper.toml"
        config.write_text(
            f'[shipper]\nstate_dir = "{work / "state"}"\nhost_id = "peers-bench"\nlog_format = "json"\n'
            f'log_level = "warning"\n'
            f'[kafka]\nbootstrap_servers = "{broker.bootstrap}"\ntopic = "{topic}"\ncompression = "lz4"\n'
            f'[[inputs]]\nid = "bench"\npaths = ["{corpus.path}"]\nformat = "{self.log_format}"\n'
        )
        # The shipper's producer always runs with acks=all and idempotence (shipper/delivery/producer.py).
        return run_to_exit([sys.executable, "-m", "shipper", "run", "--once", "--config", str(config)], work / "log")


class Kcat(Peer):
    name = "kcat"

    def missing(self) -> str | None:
        return None if shutil.which("kcat") else "kcat is not installed (Debian: apt-get install kcat)"

    def run(self, corpus: Corpus, broker: Broker, topic: str, work: Path) -> tuple[float, Usage]:
        argv = ["kcat", "-P", "-b", broker.bootstrap, "-t", topic, "-z", "lz4", "-X", "acks=all"]
        return run_to_exit(argv, work / "log", stdin=corpus.path)  # one message per line of stdin


RSYSLOG_CONFIG = """
global(workDirectory="{work}/spool" maxMessageSize="64k")
module(load="imfile" mode="inotify")
module(load="omkafka")
template(name="line" type="string" string="%msg%")
# Its own ruleset: rsyslogd's internal messages go to the default ruleset, which has no action, so the topic
# holds exactly the file's lines.
ruleset(name="to_kafka") {{
  action(type="omkafka" broker=["{bootstrap}"] topic="{topic}" template="line"
         confParam=["compression.codec=lz4", "socket.keepalive.enable=true"]
         topicConfParam=["request.required.acks=-1"]
         action.resumeRetryCount="-1")
}}
input(type="imfile" file="{file}" tag="bench" ruleset="to_kafka" freshStartTail="off" readMode="0")
"""


class Rsyslog(Peer):
    name = "rsyslog"
    modules = ("imfile.so", "omkafka.so")

    def binary(self) -> str | None:
        return shutil.which("rsyslogd") or next((p for p in ("/usr/sbin/rsyslogd", "/sbin/rsyslogd") if Path(p).exists()), None)

    def missing(self) -> str | None:
        binary = self.binary()
        if binary is None:
            return "rsyslogd is not installed (Debian: apt-get install rsyslog rsyslog-kafka)"
        found = {m.name for m in Path("/usr/lib").glob("**/rsyslog/*.so")}
        absent = [m for m in self.modules if m not in found]
        return f"rsyslog lacks {', '.join(absent)} (Debian: apt-get install rsyslog-kafka)" if absent else None

    def run(self, corpus: Corpus, broker: Broker, topic: str, work: Path) -> tuple[float, Usage]:
        binary = self.binary()
        assert binary is not None
        (work / "spool").mkdir()
        config = work / "rsyslog.conf"
        config.write_text(RSYSLOG_CONFIG.format(work=work, bootstrap=broker.bootstrap, topic=topic, file=corpus.path))
        argv = [binary, "-n", "-f", str(config), "-i", str(work / "rsyslogd.pid")]
        started = time.perf_counter()
        process = spawn(argv, work / "log")
        peak = PeakRss(process.pid)
        try:
            wall = wait_for_offsets(broker, topic, corpus.lines, process, started)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        usage = wait_usage(process, peak) if process.returncode is None else Usage(process.returncode, 0.0, peak.stop())
        return wall, usage


def wait_for_offsets(
    broker: Broker, topic: str, lines: int, process: "subprocess.Popen[bytes]", started: float
) -> float:
    """Seconds from `started` until the topic holds `lines` messages; stops early if the process dies or stalls."""
    delivered, progressed = 0, time.monotonic()
    while delivered < lines:
        if process.poll() is not None:
            break
        now = broker.end_offsets(topic)
        if now != delivered:
            delivered, progressed = now, time.monotonic()
        elif time.monotonic() - progressed > STALL_SECONDS:
            break
        time.sleep(0.05)
    return time.perf_counter() - started


PEERS: dict[str, Callable[[], Peer]] = {
    "logferry-auto": lambda: Logferry("auto"),
    "logferry-plain": lambda: Logferry("plain"),
    "kcat": Kcat,
    "rsyslog": Rsyslog,
}


def parsers_build() -> str:
    """Whether the shipper runs its parsers compiled (mypyc, `make install`) or as plain Python: CPU per line differs.
    (LOGFERRY_PURE_PYTHON is a build switch: it takes effect when the package is installed again, not here.)"""
    return _build()


# ----- the bench ------------------------------------------------------------------------------------------------


def run_once(peer: Peer, corpus: Corpus, broker: Broker, work: Path, partitions: int) -> RunResult:
    topic = broker.new_topic(peer.name, partitions)
    work.mkdir(parents=True)
    try:
        wall, usage = peer.run(corpus, broker, topic, work)
        delivered = broker.end_offsets(topic)
    finally:
        broker.delete(topic)
    return RunResult(peer.name, wall, usage, delivered, corpus.lines)


def table(results: dict[str, list[RunResult]], corpus: Corpus) -> str:
    head = f"{'peer':<15} {'runs':>4} {'lines/s':>10} {'CPU us/line':>12} {'peak RSS MB':>12}  (medians; min-max lines/s)"
    rows = [head, "-" * len(head)]
    for name, runs in results.items():
        good = [r for r in runs if r.complete]
        if not good:
            rows.append(f"{name:<15} {0:>4}  no complete run (see the run lines above)")
            continue
        rates = [r.lines_per_second for r in good]
        rows.append(
            f"{name:<15} {len(good):>4} {statistics.median(rates):>10,.0f} "
            f"{statistics.median(r.cpu_us_per_line for r in good):>12.2f} "
            f"{statistics.median(r.usage.peak_rss_bytes for r in good) / 1e6:>12.1f}  "
            f"({min(rates):,.0f}-{max(rates):,.0f})"
        )
    return f"{corpus.lines:,} lines, {corpus.size / 2**20:.1f} MiB, acks=all, lz4\n" + "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines in the mixed file")
    parser.add_argument("--runs", type=int, default=3, help="runs per peer, taken round-robin")
    parser.add_argument("--peers", default=",".join(PEERS), help="comma-separated, from: " + ", ".join(PEERS))
    parser.add_argument("--partitions", type=int, default=1, help="partitions of each run's topic")
    parser.add_argument("--workdir", type=Path, help="keep the corpus and the runs' files here (default: a temporary directory)")
    args = parser.parse_args()
    unknown = [name for name in args.peers.split(",") if name not in PEERS]
    if unknown:
        parser.error(f"unknown peer {unknown[0]!r}; choose from {', '.join(PEERS)}")
    peers: list[Peer] = []
    for name in args.peers.split(","):
        peer = PEERS[name]()
        reason = peer.missing()
        if reason:
            print(f"skipping {name}: {reason}")
        else:
            peers.append(peer)
    if not peers:
        print("no peer can run here")
        return 1
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_BOOTSTRAP)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="peers-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    broker = Broker(bootstrap)
    try:
        corpus = write_corpus(workdir / "mixed.log", args.lines)
        print(f"corpus: {corpus.lines:,} lines, {corpus.size / 2**20:.1f} MiB ({'+'.join(MIXED)}); broker {bootstrap}")
        print(f"logferry's parsers: {parsers_build()}")
        results: dict[str, list[RunResult]] = {peer.name: [] for peer in peers}
        for run in range(args.runs):
            for peer in peers:
                result = run_once(peer, corpus, broker, workdir / f"run{run}-{peer.name}", args.partitions)
                results[peer.name].append(result)
                print(f"run {run + 1}/{args.runs} {result.render()}", flush=True)
        print()
        print(table(results, corpus))
    finally:
        broker.close()
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
