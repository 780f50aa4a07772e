"""Consumer throughput: produce unified events to a fresh topic, index them with `run --once`, print events/s,
peak RSS, bytes on disk per event and the index/raw ratio for the SQLite sink (with FTS), OpenSearch and Elasticsearch
(the engines: the events indices' primary store size from _stats after a refresh, a flush and a merge).

    .venv/bin/python bench/consume_throughput.py [--events 1000000] [--sink sqlite|opensearch|elasticsearch|both|a,b] [--repeat N]
        [--corpus lines|synthetic] [--consumer-root DIR]

The corpus (`lines`, the default): log lines as they are written, half JSON app lines and half nginx access lines
(bench/parse_throughput.py's generators), in 12 files, parsed by the shipper's own StreamParser into the events the
shipper sends (JSON events carry their line again in `log.record.original`); "raw" is the lines' bytes with their
newlines, the size of the files. `synthetic`: the older generator (events of ~380 bytes with no line behind them;
raw is then the bodies' bytes plus a newline). `--consumer-root DIR` runs the consumer of another checkout (its
sources; this environment's packages) on the same topic, for before/after comparisons.

`--topic T` indexes an existing topic (one an earlier run produced and named) instead of producing a new one.
`--repeat N` indexes the same topic N times per sink (a fresh database or index prefix each time) and prints every
run and the best: on a machine whose CPU timing is noisy, the best of several runs is the figure to compare.

`both` is sqlite and opensearch. `--sink opensearch,elasticsearch` (a comma list) runs each in turn, `--repeat N` then
alternating them (A B A B), which is how two engines on one noisy machine compare: with two engines and N > 1 the last
line is the second's rate over the first's, round by round, with its median and spread. The loaded machine's figures
that do not depend on the load are printed too: the consumer's CPU per event (in all, and after start-up: imports and
setup left out) and, for an engine, the node's CPU per event (`_nodes/_local/stats` before and after the run: use a
node of your own, as a shared node's CPU counts other work).

Kafka: KAFKA_BOOTSTRAP_SERVERS, else compose/kafka/local-kafka. OpenSearch: OPENSEARCH_URL, else
compose/opensearch/local-opensearch; Elasticsearch: ELASTICSEARCH_URL, else compose/elasticsearch/local-elasticsearch.
The time counted runs from the first assignment to the last batch written
(taken from the worker's own log), so neither process start-up nor the idle timeout is in it.
"""

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Producer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from schemas import new_event, serialize, stream_id  # noqa: E402
from tests.support.kafka import kafka_broker, new_topic  # noqa: E402

WORDS = ("GET", "POST", "/api/v1/orders", "/health", "user", "id", "took", "ms", "cache", "miss", "hit", "upstream",
         "timeout", "retry", "payment", "accepted", "declined", "session", "token", "refreshed")
LEVELS = (("INFO", 9), ("INFO", 9), ("INFO", 9), ("DEBUG", 5), ("WARN", 13), ("ERROR", 17))


def produce_lines(bootstrap: str, topic: str, count: int) -> tuple[float, int]:
    """Produce the events of `count` lines of 12 files (6 JSON, 6 nginx), parsed by the shipper; (seconds taken, raw
    bytes of the lines)."""
    from parse_throughput import json_line, nginx_line

    from shipper.config import InputSettings, MultilineSettings
    from shipper.parsers.pipeline import StreamParser
    from shipper.records import StreamContext

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 50, "compression.type": "zstd",
                         "batch.size": 1_000_000, "queue.buffering.max.messages": 500_000, "acks": "all"})
    rng = random.Random(7)
    files = []
    for n in range(12):
        log_format = "json" if n % 2 == 0 else "nginx"
        settings = InputSettings(id="app", paths=["/var/log/bench/*.log"], format=log_format, timezone="UTC",
                                 multiline=MultilineSettings())
        stream = stream_id("bench-host", f"dev:1/ino:{n}")
        context = StreamContext("app", stream, f"/var/log/bench/{log_format}-{n}.log", "utf-8",
                                {"service.name": f"svc-{n % 4}", "host.name": "bench-host", "host.id": "b" * 32})
        files.append((stream, json_line if log_format == "json" else nginx_line, StreamParser(settings, context)))
    offsets = [0] * len(files)
    raw_bytes = 0
    observed = time.time_ns()
    started = time.perf_counter()
    per_round = 1_000
    line = 0
    while line < count:
        for n, (stream, generate, parser) in enumerate(files):
            take = min(per_round, count - line)
            if take <= 0:
                break
            lines = [generate(line + k, rng).encode() for k in range(take)]
            line += take
            batch = _shifted(lines, offsets[n])
            size = sum(len(text) + 1 for text in lines)
            offsets[n] += size
            raw_bytes += size
            for encoded in parser.feed(batch, observed):
                _produce(producer, topic, stream.encode(), encoded.value)
    for stream, _generate, parser in files:
        for encoded in parser.flush(observed, force=True):
            _produce(producer, topic, stream.encode(), encoded.value)
    if producer.flush(300) != 0:
        raise RuntimeError("not every event was acknowledged")
    return time.perf_counter() - started, raw_bytes


def _shifted(lines: list[bytes], base: int) -> list[Any]:
    from shipper.records import RawRecord

    out, offset = [], base
    for text in lines:
        out.append(RawRecord(offset, offset + len(text) + 1, text))
        offset += len(text) + 1
    return out


def _produce(producer: Producer, topic: str, key: bytes, value: bytes) -> None:
    while True:
        try:
            producer.produce(topic, key=key, value=value)
            return
        except BufferError:
            producer.poll(0.05)


def produce(bootstrap: str, topic: str, count: int) -> tuple[float, int]:
    """Produce `count` events of 12 files (about 380 bytes each); (seconds taken, the bodies' bytes plus newlines)."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 50, "compression.type": "zstd",
                         "batch.size": 1_000_000, "queue.buffering.max.messages": 500_000, "acks": "all"})
    rng = random.Random(7)
    streams = [stream_id("bench-host", f"dev:1/ino:{n}") for n in range(12)]
    base = time.time_ns() - count * 1_000_000
    offsets = [0] * len(streams)
    raw_bytes = 0
    started = time.perf_counter()
    for i in range(count):
        file = i % len(streams)
        text, number = LEVELS[i % len(LEVELS)]
        body = " ".join(rng.choice(WORDS) for _ in range(8)) + f" request={i}"
        event = new_event(
            stream=streams[file], offset=offsets[file], timestamp_ns=base + i * 1_000_000, observed_ns=base + i * 1_000_000,
            body=body, resource={"service.name": f"svc-{file % 4}", "host.name": "bench-host", "host.id": "bench-host"},
            input_id="app", log_format="json", severity_text=text, severity_number=number,
            attributes={"log.file.path": f"/var/log/app-{file}.log", "log.file.record_offset": offsets[file]},
        )
        offsets[file] += len(body) + 60
        raw_bytes += len(body) + 1
        value = serialize(event)
        raw_bytes += len(value)
        while True:
            try:
                producer.produce(topic, key=streams[file].encode(), value=value)
                break
            except BufferError:
                producer.poll(0.05)
    if producer.flush(300) != 0:
        raise RuntimeError("not every event was acknowledged")
    return time.perf_counter() - started, raw_bytes


def run_consumer(config: Path, idle: float, root: Path = ROOT) -> tuple[float, int, dict[str, object]]:
    """(seconds from first assignment to last write, peak RSS in KiB, the worker's Stopped. record plus cpu_seconds).
    `root`: the checkout whose consumer runs."""
    log_path = config.with_suffix(".log")
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "consumer", "run", "--config", str(config), "--once",
                                    "--idle-timeout", str(idle)], stderr=log, cwd=root,
                                   env={**os.environ, "PYTHONPATH": str(root)})
        # VmHWM belongs to the process image after exec; rusage's maxrss would include this (large) parent's.
        peak_kib = 0
        cpu_s = 0.0
        cpu_at_assignment: float | None = None  # the start-up's CPU (imports, connecting, setup), left out of per event
        wal = config.parent / "bench.db-wal"
        peak_wal = 0
        while process.poll() is None:
            peak_kib = max(peak_kib, _vm_hwm_kib(process.pid))
            peak_wal = max(peak_wal, _size(wal))
            cpu_s = max(cpu_s, _cpu_seconds(process.pid))
            if cpu_at_assignment is None and b'"Partitions assigned."' in _read(log_path):
                cpu_at_assignment = cpu_s
            time.sleep(0.1)
        status = process.returncode
    if status != 0:
        tail = b"\n".join(log_path.read_bytes().splitlines()[-15:]).decode("utf-8", "replace")
        raise RuntimeError(f"the consumer failed (exit {status}); the end of its log:\n{tail}")
    records = [orjson.loads(line) for line in log_path.read_bytes().splitlines() if line.startswith(b"{")]
    assigned = next(r for r in records if r["msg"] == "Partitions assigned.")
    idle_record = next(r for r in records if r["msg"].startswith("No new record"))
    stopped = next(r for r in records if r["msg"] == "Stopped.")

    def seconds(record: dict[str, object]) -> float:
        stamp = str(record["ts"])
        return time.mktime(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")) + float(stamp[19:-1] or 0)

    busy = seconds(idle_record) - seconds(assigned) - idle
    stopped["cpu_seconds"] = cpu_s
    stopped["cpu_seconds_after_start"] = cpu_s - (cpu_at_assignment or 0.0)
    stopped["peak_wal_bytes"] = peak_wal
    return busy, peak_kib, stopped


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` so far (the load-independent cost, unlike the wall time)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return 0.0


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _vm_hwm_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


ENGINES = ("opensearch", "elasticsearch")


def engine_url(sink: str) -> str:
    """The URL of a node of engine `sink`: <SINK>_URL, else started by the project's script."""
    if sink == "opensearch":
        from tests.support import opensearch as support
    else:
        from tests.support import elasticsearch as support  # type: ignore[no-redef]
    return os.environ.get(f"{sink.upper()}_URL") or support.start_node()


def node_cpu_ms(url: str) -> int:
    """CPU milliseconds the node's process has used so far (_nodes/_local/stats; the same API on both engines): the
    engine's own cost of a run, which a loaded machine's wall-clock rate hides."""
    from tests.support.engine_http import request

    (node,) = request(url, "GET", "/_nodes/_local/stats/process")["nodes"].values()
    return int(node["process"]["cpu"]["total_in_millis"])


def engine_store_bytes(url: str, prefix: str) -> int:
    """The primary store size of the events indices under `prefix`, after a refresh, a flush and a merge to one segment
    (then deleted): without the merge, merges still running make the figure vary by half between runs."""
    from tests.support.engine_http import request

    pattern = f"{prefix}-events-*"
    request(url, "POST", f"/{pattern}/_refresh")
    request(url, "POST", f"/{pattern}/_forcemerge?max_num_segments=1")
    # After the merge: the merged-away segments' files go once a flush and a refresh let go of them.
    request(url, "POST", f"/{pattern}/_flush?wait_if_ongoing=true")
    request(url, "POST", f"/{pattern}/_refresh")
    size = int(request(url, "GET", f"/{pattern}/_stats/store")["_all"]["primaries"]["store"]["size_in_bytes"])
    for row in request(url, "GET", f"/_cat/indices/{pattern}?format=json&h=index"):  # by name: ES refuses wildcards
        request(url, "DELETE", f"/{row['index']}")
    return size


def write_config(directory: Path, bootstrap: str, topic: str, sink: str, engine_url: str) -> Path:
    group = f"bench-{sink}-{uuid.uuid4().hex[:6]}"
    for stale in directory.glob("bench.db*"):  # a repeated run starts from an empty database
        stale.unlink()
    sink_table = (f'type = "sqlite"\npath = "{directory / "bench.db"}"' if sink == "sqlite"
                  else f'type = "{sink}"\nurl = "{engine_url}"\nindex_prefix = "{group}"')
    config = directory / f"{sink}.toml"
    config.write_text(f'[consumer]\nlog_format = "json"\nprogress = "off"\n\n[kafka]\nbootstrap_servers = "{bootstrap}"\n'
                      f'topics = ["{topic}"]\ngroup_id = "{group}"\n\n[sink]\n{sink_table}\n')
    return config


def disk_bytes(sink: str, directory: Path) -> int | None:
    """Bytes the index occupies after the run: SQLite's database file with its WAL and shared memory, if left."""
    if sink == "sqlite":
        return sum(path.stat().st_size for path in directory.glob("bench.db*"))
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--sink", default="both", help="sqlite, opensearch, elasticsearch, both, or a comma list")
    parser.add_argument("--idle-timeout", type=float, default=3.0)
    parser.add_argument("--topic", default="", help="index this existing topic of exactly --events events; produce none")
    parser.add_argument("--repeat", type=int, default=1, help="index the topic this many times per sink; prints the best")
    parser.add_argument("--corpus", choices=("lines", "synthetic"), default="lines")
    parser.add_argument("--raw-bytes", type=int, default=0, help="with --topic: the raw bytes its events stand for")
    parser.add_argument("--consumer-root", type=Path, default=ROOT, help="run the consumer of this checkout")
    args = parser.parse_args()
    sinks = ("sqlite", "opensearch") if args.sink == "both" else tuple(args.sink.split(","))
    if not set(sinks) <= {"sqlite", *ENGINES}:
        parser.error(f"--sink {args.sink!r}: each must be sqlite, opensearch or elasticsearch")
    with kafka_broker() as bootstrap, tempfile.TemporaryDirectory(prefix="logferry-bench-") as tmp:
        topic = args.topic
        raw_bytes = args.raw_bytes
        if not topic:
            topic = new_topic(bootstrap, partitions=3, prefix="bench")
            produced, raw_bytes = (produce_lines if args.corpus == "lines" else produce)(bootstrap, topic, args.events)
            print(f"produced {args.events:,} events ({args.corpus}, {raw_bytes:,} raw bytes) into {topic} in {produced:.1f} s "
                  f"({args.events / produced:,.0f} events/s)")
        urls = {sink: engine_url(sink) for sink in sinks if sink in ENGINES}
        rates: dict[str, list[float]] = {sink: [] for sink in sinks}
        cpus: dict[str, list[float]] = {sink: [] for sink in sinks}
        for _ in range(max(1, args.repeat)):
            for sink in sinks:  # in turn, round after round: A B A B
                config = write_config(Path(tmp), bootstrap, topic, sink, urls.get(sink, ""))
                node_cpu = node_cpu_ms(urls[sink]) if sink in ENGINES else 0
                busy, rss_kib, stopped = run_consumer(config, args.idle_timeout, args.consumer_root)
                if sink in ENGINES:
                    node_cpu = node_cpu_ms(urls[sink]) - node_cpu
                done = int(stopped["indexed"]) + int(stopped["duplicates_skipped"])  # type: ignore[call-overload]
                if done != args.events:
                    raise RuntimeError(f"{sink}: {done} events indexed, expected {args.events}")
                on_disk = disk_bytes(sink, Path(tmp))
                extra = ", bytes on disk n/a"
                if on_disk is not None:
                    ratio = f"{on_disk / raw_bytes:.2f}" if raw_bytes else "n/a"
                    extra = (f", {on_disk / args.events:,.1f} bytes on disk per event ({on_disk / 1e6:,.1f} MB), "
                             f"index/raw {ratio}")
                if sink == "sqlite":
                    extra += f", peak WAL {int(stopped['peak_wal_bytes']) / 1e6:,.0f} MB"  # type: ignore[call-overload]
                else:
                    prefix = config.read_text().split('index_prefix = "', 1)[1].split('"', 1)[0]
                    stored = engine_store_bytes(urls[sink], prefix)
                    extra = (f", node {node_cpu * 1e3 / args.events:.1f} us CPU per event (whole node, run and idle "
                             f"timeout), {stored / args.events:,.0f} bytes on disk per event")
                    if raw_bytes:
                        extra += f", index/raw {stored / raw_bytes:.2f}"
                cpu_us = float(stopped["cpu_seconds"]) * 1e6 / args.events  # type: ignore[arg-type]
                run_cpu_us = float(stopped["cpu_seconds_after_start"]) * 1e6 / args.events  # type: ignore[arg-type]
                rates[sink].append(args.events / busy)
                cpus[sink].append(cpu_us)
                print(f"{sink:<13} {args.events:,} events in {busy:.1f} s: {args.events / busy:,.0f} events/s, "
                      f"{cpu_us:.1f} us CPU per event (consumer process; {run_cpu_us:.1f} after start-up), "
                      f"peak RSS {rss_kib / 1024:,.0f} MiB{extra}",
                      flush=True)
        for sink in sinks:
            if len(rates[sink]) > 1:
                print(f"{sink:<13} best of {len(rates[sink])}: {max(rates[sink]):,.0f} events/s, "
                      f"{min(cpus[sink]):.1f} us CPU per event; median {sorted(rates[sink])[len(rates[sink]) // 2]:,.0f} "
                      f"events/s")
        engines = [sink for sink in sinks if sink in ENGINES]
        if len(engines) == 2 and len(rates[engines[0]]) > 1:
            # Round by round (the two ran in the same minutes): the second engine's rate over the first's.
            ratios = sorted(b / a for a, b in zip(rates[engines[0]], rates[engines[1]], strict=True))
            print(f"{engines[1]}/{engines[0]} events/s per round: {', '.join(f'{r:.2f}' for r in ratios)}; median "
                  f"{ratios[len(ratios) // 2]:.2f}, spread {ratios[0]:.2f}-{ratios[-1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
