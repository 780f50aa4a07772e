"""Freshness: the time from a line's write to its being searchable, with the whole pipeline running.

    KAFKA_BOOTSTRAP_SERVERS=host:port .venv/bin/python bench/freshness.py [--rates 1000,10000] [--seconds 20]

Per rate: a fresh topic of one partition, a real shipper (`shipper run`, format auto) following one file, a real
consumer worker (`consumer run`) indexing into a fresh SQLite database, and a writer appending lines to the file at a
steady rate (half JSON, half nginx combined; line N carries the word `seq<N>` and is the record at offset N). A reader
polls the database every --poll-ms for rows it has not seen (their source offset; the row and its FTS entry commit in
one transaction). Latency = the poll that first found a line's row minus the time the line's write() returned, so it
overstates by at most one poll interval. The first --warmup seconds are written but not counted. At the end every line
must have exactly one row, and a sample is searched for with the consumer's own reader (FTS) and must be found in the
row of its offset.

`--breakdown` also splits each line's latency into stages: write -> read by the shipper (the event's
observed_timestamp), -> readable in Kafka (a plain consumer of the bench's own, in another group, notes when each
line's record arrives), -> searchable.

Lines carry the time they are written (`--wrapped-times`: the corpus before 2026-12-02, whose times wrap every minute).
`--consumer-root DIR` runs the consumer of another checkout, for before/after comparisons in the same minutes.

`--shipper-set KEY=VALUE` / `--consumer-set KEY=VALUE` (repeatable; dotted keys, TOML values, e.g.
`--shipper-set kafka.linger_ms=5 --consumer-set consumer.batch_max_wait=0.1`) try other settings.

Every process started here (shipper, consumer) runs in its own process group and is stopped (SIGTERM, then SIGKILL)
whatever happens, also on Ctrl-C or SIGTERM to this script.
"""

import argparse
import itertools
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from schemas.timefmt import parse_rfc3339_ns  # noqa: E402
from tests.support.kafka import kafka_broker, new_topic  # noqa: E402

SEQ = re.compile(rb"seq(\d+)")
OBSERVED = re.compile(rb'"observed_timestamp":"([^"]+)"')
STOP_TIMEOUT = 30.0  # seconds a process gets to stop after SIGTERM before SIGKILL
START_TIMEOUT = 90.0  # seconds for the first line to become searchable (joins, topic metadata, start-up)
DRAIN_TIMEOUT = 60.0  # seconds after the last write for every line to become searchable


def line_for(seq: int, at: float | None = None) -> bytes:
    """Line `seq` of the mix: even ones JSON, odd ones nginx combined, both about 200 bytes. With `at` (seconds since the
    epoch), the line carries that time, as a log written now does; without, a time that wraps every minute (the corpus
    before 2026-12-02: its timestamps landed all over the timestamp index, so every flush rewrote most of that index's
    pages and the cost of a flush grew with the database)."""
    if at is None:
        iso = f"2026-12-01T12:00:{seq % 60:02d}.{seq % 1000:03d}Z"
        clf = f"01/Dec/2026:12:00:{seq % 60:02d} +0000"
    else:
        moment = time.gmtime(at)
        iso = time.strftime("%Y-%m-%dT%H:%M:%S", moment) + f".{int(at * 1000) % 1000:03d}Z"
        clf = time.strftime("%d/%b/%Y:%H:%M:%S +0000", moment)
    if seq % 2 == 0:
        return (
            f'{{"time":"{iso}","level":"info","msg":"request done seq{seq}",'
            f'"status":{200 + seq % 5},"duration_ms":{seq % 997 / 10:.1f},"path":"/api/v1/items/{seq}"}}\n'
        ).encode()
    return (
        f'10.0.{seq % 256}.{seq % 200} - - [{clf}] "GET /index/seq{seq}.html HTTP/1.1" '
        f'200 {seq % 9000} "https://example.com/" "Mozilla/5.0 (X11; Linux x86_64)"\n'
    ).encode()


# -- configs --------------------------------------------------------------------------------------------------


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def toml_document(tables: dict[str, Any]) -> str:
    """A TOML document of {table: {key: value}} and {"[[array]]": [{...}]} (what the configs here need)."""
    out: list[str] = []
    for name, body in tables.items():
        if name.startswith("[["):
            for item in body:
                out.append(name)
                out.extend(f"{k} = {toml_value(v)}" for k, v in item.items())
        else:
            out.append(f"[{name}]")
            out.extend(f"{k} = {toml_value(v)}" for k, v in body.items())
        out.append("")
    return "\n".join(out)


def apply_overrides(tables: dict[str, Any], overrides: list[str]) -> None:
    """KEY=VALUE with a dotted table.key and a TOML value (a bare word is taken as a string)."""
    import tomllib

    for item in overrides:
        key, _, text = item.partition("=")
        table, _, name = key.rpartition(".")
        if not table or not name:
            raise SystemExit(f"--*-set {item!r}: use table.key=value")
        try:
            value = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            value = text
        tables.setdefault(table, {})[name] = value


def shipper_config(directory: Path, bootstrap: str, topic: str, log: Path, overrides: list[str]) -> Path:
    tables: dict[str, Any] = {
        "shipper": {"state_dir": str(directory / "state"), "host_id": "fresh-bench", "log_format": "json"},
        "kafka": {"bootstrap_servers": bootstrap, "topic": topic},
        "[[inputs]]": [{"id": "app", "paths": [str(log)], "format": "auto"}],
    }
    apply_overrides(tables, overrides)
    path = directory / "shipper.toml"
    path.write_text(toml_document(tables))
    return path


def consumer_config(directory: Path, bootstrap: str, topic: str, database: Path, *, metrics: str,
                    overrides: list[str]) -> Path:
    tables: dict[str, Any] = {
        "consumer": {"log_format": "json", "progress": "off", "metrics_address": metrics},
        "kafka": {"bootstrap_servers": bootstrap, "topics": [topic], "group_id": f"fresh-{uuid.uuid4().hex[:8]}"},
        "sink": {"type": "sqlite", "path": str(database)},
    }
    apply_overrides(tables, overrides)
    path = directory / "consumer.toml"
    path.write_text(toml_document(tables))
    return path


# -- processes ------------------------------------------------------------------------------------------------


@contextmanager
def started(name: str, args: list[str], log_path: Path, root: Path = ROOT) -> Iterator[subprocess.Popen[bytes]]:
    """A child process in its own process group, running the sources of checkout `root`, stopped on leaving whatever
    happened."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=root, start_new_session=True,
                                   env={**os.environ, "PYTHONPATH": str(root)})
    try:
        yield process
    finally:
        stop_process(name, process)


def stop_process(name: str, process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        print(f"{name} did not stop within {STOP_TIMEOUT:g} s of SIGTERM; killing it", file=sys.stderr)
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def batch_histogram(address: str) -> dict[str, float]:
    """The consumer's logferry_consumer_batch_seconds histogram (cumulative counts by bound, plus sum and count)."""
    import urllib.request

    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as response:
        text = response.read().decode()
    figures: dict[str, float] = {}
    for line in text.splitlines():
        match = re.match(r'logferry_consumer_batch_seconds(_bucket\{le="([^"]+)"\}|_sum|_count) (\S+)', line)
        if match:
            figures[match.group(2) or match.group(1)[1:]] = float(match.group(3))
    return figures


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


# -- writer and readers ---------------------------------------------------------------------------------------


class Writer(threading.Thread):
    """Appends lines at `rate` per second, a few at a time (every millisecond or so); notes when each write returned."""

    def __init__(self, path: Path, rate: int, seconds: float, written: list[float], *, wrapped: bool = False) -> None:
        super().__init__(name="writer", daemon=True)
        self.path, self.rate, self.seconds, self.written = path, rate, seconds, written
        self.wrapped = wrapped  # the old corpus's timestamps (see line_for)
        self.stop = threading.Event()
        self.late_s = 0.0  # the most the writer fell behind its schedule

    def run(self) -> None:
        total = int(self.rate * self.seconds)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            start = time.monotonic()
            seq = len(self.written)
            first = seq
            while seq < first + total and not self.stop.is_set():
                due = first + min(total, int((time.monotonic() - start) * self.rate) + 1)
                if due > seq:
                    at = None if self.wrapped else time.time()
                    os.write(fd, b"".join(line_for(s, at) for s in range(seq, due)))
                    now = time.time()
                    self.written.extend([now] * (due - seq))
                    self.late_s = max(self.late_s, time.monotonic() - start - (seq - first) / self.rate)
                    seq = due
                time.sleep(0.001)
        finally:
            os.close(fd)


class IndexPoller(threading.Thread):
    """Polls the SQLite index for rows it has not seen; notes for each line when its row was first found.

    Reads only `events`' id and source offset, which the storage keeps whatever its layout: the topic has one
    partition and only the shipper writes to it, idempotently, so line N is the record at offset N (checked at the
    end through the FTS index, and by the probe with --breakdown)."""

    def __init__(self, database: Path, poll_s: float, seen: dict[int, float]) -> None:
        super().__init__(name="index-poller", daemon=True)
        self.database, self.poll_s, self.seen = database, poll_s, seen
        self.stop = threading.Event()
        self.duplicates = 0
        self.commits: list[tuple[float, int]] = []  # (time, rows) of each poll that found rows
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._run()
        except BaseException as error:  # reported by the main thread
            self.error = error

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        last_id = 0
        while not self.stop.is_set():
            if connection is None:
                connection = self._connect()
                if connection is None:
                    time.sleep(self.poll_s)
                    continue
            rows = connection.execute("SELECT id, source_offset FROM events WHERE id > ? ORDER BY id", (last_id,)).fetchall()
            now = time.time()
            if rows:
                last_id = rows[-1][0]
                self.commits.append((now, len(rows)))
                for _, seq in rows:
                    if seq in self.seen:
                        self.duplicates += 1
                    else:
                        self.seen[seq] = now
            time.sleep(self.poll_s)
        if connection is not None:
            connection.close()

    def _connect(self) -> sqlite3.Connection | None:
        if not self.database.exists():
            return None
        try:
            connection = sqlite3.connect(self.database, timeout=5.0)
            connection.execute("SELECT 1 FROM events LIMIT 1").fetchall()
            return connection
        except sqlite3.Error:
            return None


class KafkaProbe(threading.Thread):
    """A plain consumer of the topic in a group of its own: when each line's record could first be read from Kafka."""

    def __init__(self, bootstrap: str, topic: str, arrived: dict[int, float], observed: dict[int, float]) -> None:
        super().__init__(name="kafka-probe", daemon=True)
        self.bootstrap, self.topic, self.arrived, self.observed = bootstrap, topic, arrived, observed
        self.stop = threading.Event()
        self.misplaced = 0  # records whose offset is not their line's number

    def run(self) -> None:
        from confluent_kafka import Consumer

        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": f"probe-{uuid.uuid4().hex[:8]}",
                             "auto.offset.reset": "earliest", "enable.auto.commit": False, "fetch.wait.max.ms": 10})
        try:
            consumer.subscribe([self.topic])
            while not self.stop.is_set():
                # poll() returns with the first record; consume() with timeout 0 then takes what else is queued
                # without waiting to fill (a consume() timeout would count as time in Kafka).
                first = consumer.poll(0.05)
                if first is None:
                    continue
                now = time.time()
                for message in [first, *consumer.consume(num_messages=10_000, timeout=0)]:
                    if message.error() is not None:
                        continue
                    value = message.value() or b""
                    match = SEQ.search(value)
                    if match is None:
                        continue
                    seq = int(match.group(1))
                    if seq != message.offset():
                        self.misplaced += 1
                    self.arrived.setdefault(seq, now)
                    if seq % 8 == 0:  # the shipper's read time, from the event (parsing every one costs the probe)
                        stamp = OBSERVED.search(value)
                        if stamp is not None:
                            self.observed[seq] = parse_rfc3339_ns(stamp.group(1).decode()) / 1e9
        finally:
            consumer.close()


# -- one run --------------------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def stats(values: list[float]) -> str:
    if not values:
        return "no data"
    return f"p50 {percentile(values, 0.5):.3f} s, p99 {percentile(values, 0.99):.3f} s, max {max(values):.3f} s"


def verify_searchable(database: Path, total: int) -> None:
    """A sample of the lines, searched for with the consumer's own reader (FTS): each must be found, and its FTS entry
    must belong to the row of its offset (what the poller counted)."""
    from consumer.sinks.base import SearchQuery
    from consumer.sinks.sqlite_reader import SqliteReader

    reader = SqliteReader(str(database))
    connection = sqlite3.connect(database, timeout=30)
    try:
        step = max(1, total // 50)
        sample = range(0, total, step)
        missing = [seq for seq in sample if not reader.search(SearchQuery(text=f"seq{seq}", limit=2))]
        if missing:
            raise RuntimeError(f"lines counted as indexed but not found by search: seq{missing[:5]}")
        elsewhere = [seq for seq in sample if connection.execute(
            "SELECT e.source_offset FROM events_fts AS f JOIN events AS e ON e.id = f.rowid WHERE events_fts MATCH ?",
            (f"seq{seq}",)).fetchall() != [(seq,)]]
        if elsewhere:
            raise RuntimeError(f"lines whose row is not at their offset: seq{elsewhere[:5]}")
        (rows,) = connection.execute("SELECT count(*) FROM events").fetchone()
        if rows != total:
            raise RuntimeError(f"{rows} rows in the index for {total} lines written")
    finally:
        connection.close()
        reader.close()


def run_rate(bootstrap: str, rate: int, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="logferry-fresh-") as tmp:
        directory = Path(tmp)
        log = directory / "app.log"
        database = directory / "logs.db"
        topic = new_topic(bootstrap, partitions=1, prefix="fresh")  # line N is then the record at offset N
        written: list[float] = []
        # The shipper identifies a file by its head: give it one before it starts.
        log.write_bytes(line_for(0, None if args.wrapped_times else time.time()))
        written.append(time.time())
        seen: dict[int, float] = {}
        observed: dict[int, float] = {}
        arrived: dict[int, float] = {}
        ship_cfg = shipper_config(directory, bootstrap, topic, log, args.shipper_set)
        metrics = f"127.0.0.1:{free_port()}"
        cons_cfg = consumer_config(directory, bootstrap, topic, database, metrics=metrics, overrides=args.consumer_set)
        poller = IndexPoller(database, args.poll_ms / 1000, seen)
        probe = KafkaProbe(bootstrap, topic, arrived, observed) if args.breakdown else None
        threads: list[Any] = [poller] + ([probe] if probe else [])
        try:
            with started("consumer", [sys.executable, "-m", "consumer", "run", "--config", str(cons_cfg)],
                         directory / "consumer.log", root=args.consumer_root) as consumer, \
                 started("shipper", [sys.executable, "-m", "shipper", "run", "--config", str(ship_cfg)],
                         directory / "shipper.log") as shipper:
                for thread in threads:
                    thread.start()
                deadline = time.monotonic() + START_TIMEOUT
                while 0 not in seen:
                    for name, process in (("consumer", consumer), ("shipper", shipper)):
                        if process.poll() is not None:
                            raise RuntimeError(f"the {name} exited with {process.returncode}:\n"
                                               + (directory / f"{name}.log").read_text()[-3000:])
                    if poller.error is not None:
                        raise RuntimeError(f"the index poller failed: {poller.error!r}")
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"the first line was not searchable within {START_TIMEOUT:g} s")
                    time.sleep(0.05)
                warmup_end = int(rate * args.warmup) + 1
                writer = Writer(log, rate, args.warmup + args.seconds, written, wrapped=args.wrapped_times)
                cpu_before: dict[str, float] = {}
                writer.start()
                while len(written) < warmup_end and writer.is_alive():
                    time.sleep(0.01)
                cpu_before = {"shipper": cpu_seconds(shipper.pid), "consumer": cpu_seconds(consumer.pid)}
                load_before = os.getloadavg()[0]
                flushes_before = batch_histogram(metrics)
                writer.join()
                cpu = {"shipper": cpu_seconds(shipper.pid) - cpu_before["shipper"],
                       "consumer": cpu_seconds(consumer.pid) - cpu_before["consumer"]}
                flushes_after = batch_histogram(metrics)
                total = len(written)
                deadline = time.monotonic() + DRAIN_TIMEOUT
                while len(seen) < total and time.monotonic() < deadline and poller.error is None:
                    time.sleep(0.05)
                for thread in threads:
                    thread.stop.set()
                for thread in threads:
                    thread.join(10)
                if poller.error is not None:
                    raise RuntimeError(f"the index poller failed: {poller.error!r}")
                if len(seen) < total:
                    raise RuntimeError(f"only {len(seen)} of {total} lines searchable {DRAIN_TIMEOUT:g} s after the last write")
                if poller.duplicates:
                    raise RuntimeError(f"{poller.duplicates} lines were indexed twice")
                verify_searchable(database, total)
                if probe is not None and probe.misplaced:
                    raise RuntimeError(f"{probe.misplaced} records were not at their line's offset")
        finally:
            for thread in threads:
                thread.stop.set()
        measured = range(warmup_end, total)
        latencies = [seen[s] - written[s] for s in measured]
        seconds = args.seconds
        commits = [rows for at, rows in poller.commits if at >= written[warmup_end]]
        times = [at for at, _ in poller.commits if at >= written[warmup_end]]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        flushes = {key: flushes_after.get(key, 0.0) - flushes_before.get(key, 0.0) for key in flushes_after}
        count = max(1.0, flushes.get("count", 0.0))
        result: dict[str, Any] = {
            "rate": rate, "lines": len(latencies), "latency": stats(latencies),
            "p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99), "max": max(latencies),
            "shipper_cpu": cpu["shipper"] / seconds, "consumer_cpu": cpu["consumer"] / seconds,
            "load": load_before, "writer_late_s": writer.late_s,
            "commits_per_s": len(commits) / seconds, "rows_per_commit": sum(commits) / max(1, len(commits)),
            "commit_gaps": stats(gaps),
            "flushes": f"{flushes.get('count', 0):.0f} flushes, mean {flushes.get('sum', 0) / count * 1000:.0f} ms, "
                       f"over 0.1 s: {count - flushes.get('0.1', 0):.0f}, over 0.25 s: {count - flushes.get('0.25', 0):.0f}, "
                       f"over 0.5 s: {count - flushes.get('0.5', 0):.0f}, over 1 s: {count - flushes.get('1.0', 0):.0f}, "
                       f"over 2.5 s: {count - flushes.get('2.5', 0):.0f}",
        }
        if args.breakdown:
            shipper_read = [observed[s] - written[s] for s in measured if s in observed]
            to_kafka = [arrived[s] - observed[s] for s in measured if s in observed and s in arrived]
            to_index = [seen[s] - arrived[s] for s in measured if s in arrived]
            result["breakdown"] = {"write -> read by the shipper": stats(shipper_read),
                                   "read -> readable in Kafka": stats(to_kafka),
                                   "readable in Kafka -> searchable": stats(to_index)}
        return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="1000,10000", help="lines per second, comma-separated")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per rate")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds written at the rate before measuring")
    parser.add_argument("--poll-ms", type=float, default=10.0, help="how often the index is polled")
    parser.add_argument("--breakdown", action="store_true", help="split the latency into stages")
    parser.add_argument("--shipper-set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--consumer-set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--consumer-root", type=Path, default=ROOT,
                        help="run the consumer of this checkout (its sources, this environment's packages): before/after")
    parser.add_argument("--wrapped-times", action="store_true",
                        help="lines carry the old corpus's times, wrapping every minute, instead of the time written")
    args = parser.parse_args()

    def terminate(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)  # unwinds through the finally blocks that stop the processes

    signal.signal(signal.SIGTERM, terminate)
    with kafka_broker() as bootstrap:
        for rate in (int(r) for r in args.rates.split(",")):
            result = run_rate(bootstrap, rate, args)
            print(f"{rate:>6,} lines/s: {result['lines']:,} lines, write -> searchable {result['latency']}; "
                  f"{result['commits_per_s']:.1f} commits/s of {result['rows_per_commit']:,.0f} rows; "
                  f"CPU shipper {result['shipper_cpu']:.0%} consumer {result['consumer_cpu']:.0%} of a core; "
                  f"load {result['load']:.1f}; writer at most {result['writer_late_s'] * 1000:.0f} ms late", flush=True)
            if args.breakdown:
                print(f"        {'time between commits':<34} {result['commit_gaps']}", flush=True)
                print(f"        {'sink flushes':<34} {result['flushes']}", flush=True)
            for stage, figures in result.get("breakdown", {}).items():
                print(f"        {stage:<34} {figures}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
