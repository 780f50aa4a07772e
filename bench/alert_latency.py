"""The alert evaluator: events/s with 50 rules on one core, and (with the notifier) line-to-email latency.

    .venv/bin/python bench/alert_latency.py throughput [--events 200000] [--rounds 3]
    KAFKA_BOOTSTRAP_SERVERS=host:port .venv/bin/python bench/alert_latency.py e2e [--rate 10000] [--seconds 30]

`throughput` (no broker needed): a corpus of unified events (20 services, 40 hosts, mixed levels, plain and
key=value bodies, attributes), serialised as the shipper sends them, and 50 rules (20 threshold per service, 10 ratio,
10 match, 5 absence, 5 threshold on attributes). Each round runs, in this process and on one core, what the
evaluator's worker runs per record: JSON decode, the schema check, `prepare` (which rules an event concerns), then
per batch of 20,000 `add` + `flush` (windows counted, alerts moved, state and offsets committed to a real SQLite file
in a temporary directory), with the garbage collector settled as the evaluator's entry point settles it
(consumer.heap). Printed per round: events/s for the whole, and for decode+check alone (what any consumer of
the topic pays) so the evaluator's own share shows; CPU seconds (process time) and wall seconds.

`e2e` needs the notifier (consumer.alerting.notify) and aiosmtpd: a real shipper follows a file written at --rate
lines/s of background traffic, the evaluator runs with one `match` rule routed to an SMTP receiver on an aiosmtpd
server of this script; once the evaluator has its partitions and --warmup seconds of background passed, every
--probe-every seconds a matching line (with a sequence number) is appended; latency = the SMTP server accepting the
mail that names it minus the write() of the line. Prints the background rate achieved, p50/p99/max and the load
average; exit 1 if a probe's mail did not arrive within 30 s of the end.

Every process started here runs in its own process group and is stopped whatever happens.
"""

import argparse
import array
import itertools
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, overload

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402

from consumer.alerting.config import parse_evaluator_config  # noqa: E402
from consumer.alerting.evaluator import EvaluatorSink  # noqa: E402
from consumer.alerting.seam import NullNotifier  # noqa: E402
from consumer.heap import settle  # noqa: E402
from consumer.records import Batch  # noqa: E402
from schemas import new_event, serialize, stream_id  # noqa: E402
from schemas.validate import check_event  # noqa: E402

BATCH = 20_000
SERVICES = [f"svc-{i}" for i in range(20)]
HOSTS = [f"web-{i}" for i in range(40)]
LEVELS = (("DEBUG", 5), ("INFO", 9), ("INFO", 9), ("INFO", 9), ("WARN", 13), ("ERROR", 17))
BODIES = ("request handled in {n} ms", "user {n} logged in", "payment failed for order {n}: card declined",
          "job backup exited code {c}", "GET /api/v1/items/{n} 200", "cache miss key=item:{n}")


def rules_table() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for i in range(20):
        rules.append({"name": f"errors-{i}", "type": "threshold", "match": f"level:error service:svc-{i}",
                      "group_by": ["host"], "window": "5m", "threshold": 50})
    for i in range(10):
        rules.append({"name": f"ratio-{i}", "type": "ratio", "match": f"level:error service:svc-{i}",
                      "total": f"service:svc-{i}",
                      "group_by": ["service"], "window": "10m", "ratio": 0.5, "min_count": 100})
    for i in range(10):
        rules.append({"name": f"exit-{i}", "type": "match", "match": f"exited code {i + 1}", "group_by": ["host"],
                      "interval": "5m"})
    for i in range(5):
        rules.append({"name": f"quiet-{i}", "type": "absence", "match": f"service:svc-{i} logged", "window": "10m",
                      "group_by": ["host"]})
    for i in range(5):
        rules.append({"name": f"status-{i}", "type": "threshold", "match": f"http.status:{500 + i}",
                      "group_by": ["service"], "window": "1m", "threshold": 1000})
    return rules


def corpus(count: int) -> list[bytes]:
    rng = random.Random(7)
    start = time.time_ns() - 3600 * 1_000_000_000
    found = []
    for i in range(count):
        service, host = rng.choice(SERVICES), rng.choice(HOSTS)
        text, number = rng.choice(LEVELS)
        body = rng.choice(BODIES).format(n=rng.randrange(100_000), c=rng.randrange(12))
        found.append(serialize(new_event(
            stream=stream_id(host, f"/var/log/{service}.log"), offset=i * 120, timestamp_ns=start + i * 100_000,
            observed_ns=start + i * 100_000 + 5, body=body, resource={"service.name": service, "host.name": host},
            input_id="app", log_format="plain", severity_text=text, severity_number=number,
            attributes={"http.status": rng.choice((200, 200, 200, 404, 500, 503)), "log.file.record_offset": i * 120},
        )))
    return found


class Corpus(Sequence[bytes]):
    """The serialised events as one bytes object and their end offsets: each event is sliced out as a fresh bytes
    object when read, as the worker gets each record's value from the broker. (A list of 200k bytes objects would
    stay on the heap for the whole run, where the evaluator's worker holds one poll's records at a time; the garbage
    collector walking it cost this benchmark a fifth of its CPU.)"""

    def __init__(self, raws: list[bytes]) -> None:
        self._blob = b"".join(raws)
        self._ends = array.array("q", itertools.accumulate(len(raw) for raw in raws))

    def __len__(self) -> int:
        return len(self._ends)

    @overload
    def __getitem__(self, index: int) -> bytes: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[bytes]: ...

    def __getitem__(self, index: int | slice) -> bytes | Sequence[bytes]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return self._blob[self._ends[index - 1] if index else 0:self._ends[index]]


def one_round(raws: Sequence[bytes], directory: Path) -> tuple[float, float, float, int]:
    """(wall s, CPU s, decode+check CPU s, alert changes) of evaluating `raws` once, with a fresh state file."""
    config = parse_evaluator_config({"alert": {"state_path": str(directory / f"state-{uuid.uuid4().hex}.db")},
                                     "rules": rules_table()})
    sink = EvaluatorSink(config, NullNotifier())
    sink.setup()
    settle()  # as the evaluator's entry point does once its sink is set up
    topic = "bench"
    sink.stored_offsets([(topic, 0)])
    loads = orjson.loads
    decode_cpu = time.process_time()
    for raw in raws:
        check_event(loads(raw))
    decode_cpu = time.process_time() - decode_cpu
    began, cpu = time.perf_counter(), time.process_time()
    prepare = sink.prepare
    for start in range(0, len(raws), BATCH):
        batch = Batch()
        for offset in range(start, min(start + BATCH, len(raws))):
            raw = raws[offset]
            event = loads(raw)
            if check_event(event) is not None:
                raise SystemExit("the corpus has an invalid event")
            batch.items.append(prepare(event, raw))
            batch.sources.append((topic, 0, offset))
        batch.next_offsets[(topic, 0)] = start + len(batch.items)
        batch.consumed = len(batch.items)
        sink.add(batch)
        sink.flush()
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    changes = sum(sink.stats.changes.values())
    sink.close()
    return wall, cpu, decode_cpu, changes


def throughput(args: argparse.Namespace) -> int:
    raws = Corpus(corpus(args.events))
    print(f"corpus: {len(raws):,} events, {sum(map(len, raws)):,} bytes; 50 rules "
          "(20 threshold, 10 ratio, 10 match, 5 absence, 5 attribute threshold)")
    rates = []
    with tempfile.TemporaryDirectory(prefix="alert-bench-") as directory:
        for round_number in range(1, args.rounds + 1):
            wall, cpu, decode_cpu, changes = one_round(raws, Path(directory))
            rate = len(raws) / cpu
            rates.append(rate)
            print(f"round {round_number}: {len(raws) / wall:,.0f} events/s wall ({wall:.2f} s), {rate:,.0f} events/s "
                  f"of CPU ({cpu:.2f} s, {cpu / len(raws) * 1e6:.2f} us/event); decode+check alone "
                  f"{len(raws) / decode_cpu:,.0f} events/s ({decode_cpu / len(raws) * 1e6:.2f} us/event); "
                  f"{changes} alert changes")
    print(f"best of {len(rates)}: {max(rates):,.0f} events/s of one core; median {statistics.median(rates):,.0f}")
    return 0


# -- e2e ------------------------------------------------------------------------------------------------------


def e2e(args: argparse.Namespace) -> int:
    try:
        from aiosmtpd.controller import Controller  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        print("e2e needs aiosmtpd (pip install aiosmtpd)", file=sys.stderr)
        return 1
    from consumer.alerting.seam import notify_package

    if notify_package() is None:
        print("e2e needs the notifier (consumer.alerting.notify), which is not installed in this tree", file=sys.stderr)
        return 1
    from email import message_from_bytes, policy

    from bench.freshness import free_port, shipper_config, started, toml_document
    from tests.support.kafka import kafka_broker, new_topic

    accepted: dict[int, float] = {}

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            now = time.time()
            mail = message_from_bytes(envelope.content, policy=policy.default)
            texts = [str(mail.get("Subject", ""))]
            texts += [part.get_content() for part in mail.walk() if part.get_content_maintype() == "text"]
            for text in texts:
                for found in re.finditer(r"probe-seq(\d+)", text):
                    accepted.setdefault(int(found.group(1)), now)
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    written: dict[int, float] = {}
    try:
        with kafka_broker() as bootstrap, tempfile.TemporaryDirectory(prefix="alert-e2e-") as name:
            directory = Path(name)
            topic = new_topic(bootstrap, 1, prefix="alert-e2e")
            log = directory / "app.log"
            log.write_text("")
            shipper = shipper_config(directory, bootstrap, topic, log, [])
            tables: dict[str, Any] = {
                "consumer": {"log_format": "json", "progress": "off", "batch_max_wait": 0.2},
                "kafka": {"bootstrap_servers": bootstrap, "topics": [topic], "group_id": f"e2e-{uuid.uuid4().hex[:8]}"},
                "alert": {"state_path": str(directory / "alerts.db"), "allowed_lateness": "5s",
                          "evaluation_interval": "0.2s"},
                # One alert per probe: each probe falls in an interval of its own (probes --probe-every apart, at
                # least twice the interval), and its group was last notified more than group_interval ago.
                "[[rules]]": [{"name": "probe", "type": "match", "match": "probe", "group_by": [], "interval": "1s",
                               "severity": "critical"}],
                "[[receivers]]": [{"name": "mail", "type": "email", "host": "127.0.0.1", "port": port,
                                   "security": "none", "sender": "alerts@example.com", "to": ["ops@example.com"]}],
                "[[routes]]": [{"receiver": "mail", "group_wait": "0s", "group_interval": "1s"}],
            }
            alerts = directory / "alerts.toml"
            alerts.write_text(toml_document(tables))
            with started("shipper", [sys.executable, "-m", "shipper", "run", "--config", str(shipper)],
                         directory / "shipper.log"), \
                 started("evaluator", [sys.executable, "-m", "consumer", "alert", "run", "--config", str(alerts)],
                         directory / "evaluator.log"):
                stop = threading.Event()
                evaluator_log = directory / "evaluator.log"
                assigned = time.monotonic() + 120
                while "Partitions assigned." not in evaluator_log.read_text(errors="replace"):
                    if time.monotonic() > assigned:
                        print("the evaluator got no partitions within 120 s", file=sys.stderr)
                        return 1
                    time.sleep(0.2)
                with open(log, "ab", buffering=0) as out:
                    began = time.monotonic()
                    deadline = began + args.warmup + args.seconds
                    seq = lines = 0
                    next_probe = began + args.warmup
                    while time.monotonic() < deadline:
                        tick = time.monotonic()
                        chunk = args.rate // 10
                        out.write(b"".join(f"request {lines + i} handled\n".encode() for i in range(chunk)))
                        lines += chunk
                        if tick >= next_probe:
                            out.write(f"probe-seq{seq} job failed\n".encode())
                            written[seq] = time.time()
                            seq += 1
                            next_probe = tick + args.probe_every
                        stop.wait(max(0.0, 0.1 - (time.monotonic() - tick)))
                    elapsed = time.monotonic() - began
                drain = time.monotonic() + 30
                while time.monotonic() < drain and len(accepted) < len(written):
                    time.sleep(0.2)
                print(f"background written: {lines:,} lines in {elapsed:.1f} s ({lines / elapsed:,.0f} lines/s)")
    finally:
        controller.stop()
    latencies = sorted(accepted[s] - written[s] for s in written if s in accepted)
    if not latencies:
        print("no probe mail arrived", file=sys.stderr)
        return 1
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    print(f"{len(latencies)}/{len(written)} probes mailed at {args.rate:,} lines/s of background: p50 "
          f"{quantiles[49]:.2f} s, p99 {quantiles[98]:.2f} s, max {latencies[-1]:.2f} s")
    print(f"load average (1, 5, 15 min) at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())} on "
          f"{os.cpu_count()} CPU(s)")
    return 0 if len(latencies) == len(written) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    modes = parser.add_subparsers(dest="mode")
    rate = modes.add_parser("throughput", help="events/s of the evaluator with 50 rules, in process, one core")
    rate.add_argument("--events", type=int, default=200_000)
    rate.add_argument("--rounds", type=int, default=3)
    latency = modes.add_parser("e2e", help="line written -> email accepted, with the shipper and the evaluator")
    latency.add_argument("--rate", type=int, default=10_000, help="background lines/s")
    latency.add_argument("--seconds", type=float, default=30.0)
    latency.add_argument("--warmup", type=float, default=5.0)
    latency.add_argument("--probe-every", type=float, default=2.5,
                         help="seconds between probes; at least twice the rule's 1 s interval, so each probe is an "
                              "alert (and a mail) of its own")
    args = parser.parse_args()
    if args.mode == "e2e":
        return e2e(args)
    if args.mode is None:
        args = rate.parse_args([])
    return throughput(args)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
