"""Consumer throughput: produce unified events to a fresh topic, index them with `run --once`, print events/s and
peak RSS for the SQLite sink (with FTS), OpenSearch and Elasticsearch; for the engines also the bytes on disk per event
and the index/raw ratio (the events indices' primary store size from _stats after a refresh and a flush, against the
bytes of the events produced).

    .venv/bin/python bench/consume_throughput.py [--events 1000000] [--sink sqlite|opensearch|elasticsearch|both]
                                                 [--repeat N]

`--topic T` indexes an existing topic (one an earlier run produced and named) instead of producing a new one.
`--repeat N` indexes the same topic N times per sink (a fresh database or index prefix each time) and prints every
run and the best: on a machine whose CPU timing is noisy, the best of several runs is the figure to compare.

`both` is sqlite and opensearch. `--sink opensearch,elasticsearch` (a comma list) runs each in turn, `--repeat N` then
alternating them (A B A B), which is how two engines on one noisy machine compare.

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

import orjson
from confluent_kafka import Producer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from schemas import new_event, serialize, stream_id  # noqa: E402
from tests.support.kafka import kafka_broker, new_topic  # noqa: E402

WORDS = ("GET", "POST", "/api/v1/orders", "/health", "user", "id", "took", "ms", "cache", "miss", "hit", "upstream",
         "timeout", "retry", "payment", "accepted", "declined", "session", "token", "refreshed")
LEVELS = (("INFO", 9), ("INFO", 9), ("INFO", 9), ("DEBUG", 5), ("WARN", 13), ("ERROR", 17))


def produce(bootstrap: str, topic: str, count: int) -> tuple[float, int]:
    """Produce `count` events of 12 files (about 380 bytes each); returns seconds taken and the events' bytes."""
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


def run_consumer(config: Path, idle: float) -> tuple[float, int, dict[str, object]]:
    """(seconds from first assignment to last write, peak RSS in KiB, the worker's Stopped. record plus cpu_seconds)."""
    log_path = config.with_suffix(".log")
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "consumer", "run", "--config", str(config), "--once",
                                    "--idle-timeout", str(idle)], stderr=log, cwd=ROOT)
        # VmHWM belongs to the process image after exec; rusage's maxrss would include this (large) parent's.
        peak_kib = 0
        cpu_s = 0.0
        while process.poll() is None:
            peak_kib = max(peak_kib, _vm_hwm_kib(process.pid))
            cpu_s = max(cpu_s, _cpu_seconds(process.pid))
            time.sleep(0.1)
        status = process.returncode
    if status != 0:
        raise RuntimeError(f"the consumer failed; see {log_path}")
    records = [orjson.loads(line) for line in log_path.read_bytes().splitlines() if line.startswith(b"{")]
    assigned = next(r for r in records if r["msg"] == "Partitions assigned.")
    idle_record = next(r for r in records if r["msg"].startswith("No new record"))
    stopped = next(r for r in records if r["msg"] == "Stopped.")

    def seconds(record: dict[str, object]) -> float:
        stamp = str(record["ts"])
        return time.mktime(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")) + float(stamp[19:-1] or 0)

    busy = seconds(idle_record) - seconds(assigned) - idle
    stopped["cpu_seconds"] = cpu_s
    return busy, peak_kib, stopped


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` so far (the load-independent cost, unlike the wall time)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return 0.0


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--sink", default="both", help="sqlite, opensearch, elasticsearch, both, or a comma list")
    parser.add_argument("--idle-timeout", type=float, default=3.0)
    parser.add_argument("--topic", default="", help="index this existing topic of exactly --events events; produce none")
    parser.add_argument("--repeat", type=int, default=1, help="index the topic this many times per sink; prints the best")
    args = parser.parse_args()
    sinks = ("sqlite", "opensearch") if args.sink == "both" else tuple(args.sink.split(","))
    if not set(sinks) <= {"sqlite", *ENGINES}:
        parser.error(f"--sink {args.sink!r}: each must be sqlite, opensearch or elasticsearch")
    with kafka_broker() as bootstrap, tempfile.TemporaryDirectory(prefix="logferry-bench-") as tmp:
        topic = args.topic
        raw_bytes = 0  # unknown for an existing topic
        if not topic:
            topic = new_topic(bootstrap, partitions=3, prefix="bench")
            produced, raw_bytes = produce(bootstrap, topic, args.events)
            print(f"produced {args.events:,} events ({raw_bytes / args.events:,.0f} bytes each) into {topic} in "
                  f"{produced:.1f} s ({args.events / produced:,.0f} events/s)")
        urls = {sink: engine_url(sink) for sink in sinks if sink in ENGINES}
        rates: dict[str, list[float]] = {sink: [] for sink in sinks}
        cpus: dict[str, list[float]] = {sink: [] for sink in sinks}
        for _ in range(max(1, args.repeat)):
            for sink in sinks:  # in turn, round after round: A B A B
                config = write_config(Path(tmp), bootstrap, topic, sink, urls.get(sink, ""))
                busy, rss_kib, stopped = run_consumer(config, args.idle_timeout)
                done = int(stopped["indexed"]) + int(stopped["duplicates_skipped"])  # type: ignore[call-overload]
                if done != args.events:
                    raise RuntimeError(f"{sink}: {done} events indexed, expected {args.events}")
                extra = ""
                if sink == "sqlite":
                    extra = f", database {Path(tmp, 'bench.db').stat().st_size / 1e6:,.0f} MB"
                else:
                    prefix = config.read_text().split('index_prefix = "', 1)[1].split('"', 1)[0]
                    stored = engine_store_bytes(urls[sink], prefix)
                    extra = f", {stored / args.events:,.0f} bytes on disk per event"
                    if raw_bytes:
                        extra += f", index/raw {stored / raw_bytes:.2f}"
                cpu_us = float(stopped["cpu_seconds"]) * 1e6 / args.events  # type: ignore[arg-type]
                rates[sink].append(args.events / busy)
                cpus[sink].append(cpu_us)
                print(f"{sink:<13} {args.events:,} events in {busy:.1f} s: {args.events / busy:,.0f} events/s, "
                      f"{cpu_us:.1f} us CPU per event (consumer process), peak RSS {rss_kib / 1024:,.0f} MiB{extra}",
                      flush=True)
        for sink in sinks:
            if len(rates[sink]) > 1:
                print(f"{sink:<13} best of {len(rates[sink])}: {max(rates[sink]):,.0f} events/s, "
                      f"{min(cpus[sink]):.1f} us CPU per event; median {sorted(rates[sink])[len(rates[sink]) // 2]:,.0f} "
                      f"events/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
