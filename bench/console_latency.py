"""The web console's API latency on a large SQLite index (issue 16: facet counts and the 24 h histogram <= 300 ms, a
text search page <= 200 ms).

Builds (once, then reuses: `--rebuild` to make it again) an index of `--events` events spread over the last 24 hours
through the SQLite sink's own write path (SqliteSink.add/flush, no broker): 8 services, 20 hosts, levels mostly info,
bodies drawn from a small vocabulary plus a rare word in 1 event of 1,000. Then starts `python -m consumer serve` on
it and times each API request over HTTP, `--repeat` times, printing the median and the slowest.

    .venv/bin/python bench/console_latency.py [--events 1000000] [--dir .cache/bench-console] [--repeat 7]
"""

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from consumer.records import Batch  # noqa: E402
from consumer.sinks.sqlite import SqliteSink  # noqa: E402
from consumer.sinks.sqlite_rows import event_row  # noqa: E402
from schemas import new_event, serialize, stream_id  # noqa: E402

NS = 1_000_000_000
SERVICES = [f"svc-{name}" for name in ("api", "billing", "search", "auth", "cart", "mail", "queue", "web")]
HOSTS = [f"host-{n:02d}" for n in range(20)]
LEVELS = [("INFO", 9)] * 14 + [("DEBUG", 5)] * 3 + [("WARN", 13)] * 2 + [("ERROR", 17)]
WORDS = ["request", "handled", "user", "order", "payment", "cache", "miss", "hit", "timeout", "retry", "connection",
         "pool", "query", "slow", "fast", "session", "token", "refresh", "upstream", "downstream", "queue", "message",
         "batch", "flush", "commit"]
RARE = "zanzibar"  # in one event of 1,000
TOPIC = "bench-console"


def build(path: Path, count: int) -> float:
    """Write `count` events into a new index at `path`; seconds taken."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    sink = SqliteSink(str(path), lambda letters: None)
    sink.setup()
    sink.stored_offsets([(TOPIC, 0)])  # the compare-and-set's expected offsets, as on an assignment
    rng = random.Random(16)
    now = time.time_ns()
    start = now - 24 * 3600 * NS
    step = (24 * 3600 * NS) // count
    streams = {(s, h): stream_id(h, f"/var/log/{s}.log") for s in SERVICES for h in HOSTS}
    batch_size = 20_000
    offset = 0
    for first in range(0, count, batch_size):
        batch = Batch()
        for i in range(first, min(count, first + batch_size)):
            service, host = rng.choice(SERVICES), rng.choice(HOSTS)
            text, number = rng.choice(LEVELS)
            words = rng.sample(WORDS, 6)
            if i % 1000 == 7:
                words.append(RARE)
            timestamp = start + i * step
            event = new_event(
                stream=streams[(service, host)], offset=i * 120, timestamp_ns=timestamp, observed_ns=timestamp + 1000,
                body=f"{' '.join(words)} id={i}", resource={"service.name": service, "host.name": host, "host.id": host},
                input_id="app", log_format="plain", severity_text=text, severity_number=number,
                attributes={"log.file.path": f"/var/log/{service}.log", "log.file.record_offset": i * 120},
            )
            raw = serialize(event)
            batch.items.append(event_row(event, raw))
            batch.sources.append((TOPIC, 0, offset))
            offset += 1
        batch.next_offsets[(TOPIC, 0)] = offset
        batch.consumed = len(batch.items)
        sink.add(batch)
        sink.flush()
    sink.close()
    return time.monotonic() - started


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(base: str, path: str, params: dict[str, Any]) -> tuple[float, Any]:
    url = f"{base}{path}?{urllib.parse.urlencode(params)}"
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        body = response.read()
    return (time.perf_counter() - started) * 1000, json.loads(body)


class ConsoleDidNotStart(RuntimeError):
    """`consumer serve` exited or did not answer /api/health within a minute."""


@contextmanager
def served(config: Path) -> Iterator[str]:
    """`consumer serve` on `config` at a free loopback port, answering /api/health; yields its base URL and stops it
    (SIGTERM, then SIGKILL) whatever happens."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "consumer", "serve", "--config", str(config), "--listen",
                               f"127.0.0.1:{port}"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get(base, "/api/health", {})
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    server.kill()
                    _, stderr = server.communicate()
                    raise ConsoleDidNotStart(stderr.decode("utf-8", "replace")) from None
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=ROOT / ".cache" / "bench-console")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    db = args.dir / f"console-{args.events}.db"
    if args.rebuild or not db.exists():
        seconds = build(db, args.events)
        print(f"built {args.events} events in {seconds:.1f} s ({args.events / seconds:,.0f} events/s) at {db}")
    config = args.dir / "consumer.toml"
    config.write_text(f'[kafka]\ntopics = ["{TOPIC}"]\n\n[sink]\ntype = "sqlite"\npath = "{db}"\n')
    with served(config) as base:
        cases: list[tuple[str, str, dict[str, Any], int]] = [
            ("facets, 24 h, no text", "/api/facets", {"since": "24h"}, 300),
            ("histogram, 24 h, no text", "/api/histogram", {"since": "24h"}, 300),
            ("facets, 24 h, level:error", "/api/facets", {"since": "24h", "q": "level:error"}, 300),
            ("histogram, 24 h, service:svc-api", "/api/histogram", {"since": "24h", "q": "service:svc-api"}, 300),
            ("search page (100), 24 h, common word", "/api/search", {"since": "24h", "q": "timeout", "limit": 100}, 200),
            ("search page (100), 24 h, rare word", "/api/search", {"since": "24h", "q": RARE, "limit": 100}, 200),
            ("search page (100), 24 h, two words", "/api/search", {"since": "24h", "q": "cache retry", "limit": 100}, 200),
            ("facets, 24 h, rare word", "/api/facets", {"since": "24h", "q": RARE}, 300),
            ("histogram, 24 h, rare word", "/api/histogram", {"since": "24h", "q": RARE}, 300),
        ]
        print(f"{'request':<42} {'median ms':>10} {'max ms':>8} {'target':>7}  answer")
        failed = 0
        for name, path, params, target in cases:
            times = []
            answer: Any = None
            for _ in range(args.repeat):
                ms, answer = get(base, path, params)
                times.append(ms)
            median = statistics.median(times)
            summary = (f"{answer.get('total')} events" if "total" in answer
                       else f"{len(answer.get('events', []))} events")
            verdict = "ok" if median <= target else "OVER"
            failed += verdict != "ok"
            print(f"{name:<42} {median:>10.1f} {max(times):>8.1f} {target:>7}  {summary} {verdict}")
        return 0 if not failed else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ConsoleDidNotStart as error:
        print("the console did not start:", error)
        sys.exit(1)
