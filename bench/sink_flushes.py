"""Where a SQLite flush's time goes at a steady rate: the real SqliteSink, fed batches of freshness.py's line mix.

    .venv/bin/python bench/sink_flushes.py [--rows 1500] [--rate 10000] [--seconds 60] [--reader-ms 10]

The lines (half JSON, half nginx combined, freshness.py's `line_for`) are parsed by the shipper's own StreamParser
(format `auto`) into the events the shipper sends, then written by the sink in batches of --rows, one batch every
rows/rate seconds (`--rate 0`: back to back, as in a backfill), on one thread, as the worker's writer thread does. A
reader thread polls the database like freshness.py's poller (every --reader-ms; 0 for none), so checkpoints meet a
reader as they do in production.

Per flush: its wall time and the writer thread's CPU time; the part spent in the sink's upkeep (`maintain`, retention
and WAL upkeep); whether the main database file changed during it (only a checkpoint writes the main file: a flush
that changed it ran a checkpoint); the WAL file's size. Printed: p50/p99/max of each, the flushes over 50/100/250 ms,
how many ran a checkpoint and what they cost, the peak WAL, and the rows per second the writer could sustain (rows
over the writer's busy time). Nothing here needs the broker.
"""

import argparse
import os
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from freshness import line_for, percentile  # noqa: E402


def events(count: int, rate: float = 10_000.0, *, wrapped: bool = False) -> list[bytes]:
    """The serialized events of `count` lines of the mix, as the shipper would send them: lines written at `rate` per
    second from now (or, `wrapped`, the old corpus's times, see freshness.line_for)."""
    at = time.time()
    rate = rate or 100_000.0
    from schemas import stream_id
    from shipper.config import InputSettings, MultilineSettings
    from shipper.parsers.pipeline import StreamParser
    from shipper.records import RawRecord, StreamContext

    settings = InputSettings(id="app", paths=["/var/log/bench/*.log"], format="auto", timezone="UTC",
                             multiline=MultilineSettings())
    context = StreamContext("app", stream_id("fresh-bench", "dev:1/ino:1"), "/var/log/bench/app.log", "utf-8",
                            {"service.name": "app", "host.name": "fresh-bench", "host.id": "b" * 32})
    parser = StreamParser(settings, context)
    out: list[bytes] = []
    offset = 0
    observed = time.time_ns()
    step = 10_000
    for start in range(0, count, step):
        records = []
        for seq in range(start, min(count, start + step)):
            text = line_for(seq, None if wrapped else at + seq / rate).rstrip(b"\n")
            records.append(RawRecord(offset, offset + len(text) + 1, text))
            offset += len(text) + 1
        out.extend(encoded.value for encoded in parser.feed(records, observed))
    out.extend(encoded.value for encoded in parser.flush(observed, force=True))
    return out


class Reader(threading.Thread):
    """freshness.py's poller: new rows by id, every `interval` seconds, in short read transactions."""

    def __init__(self, database: Path, interval: float) -> None:
        super().__init__(name="reader", daemon=True)
        self.database, self.interval = database, interval
        self.stop = threading.Event()

    def run(self) -> None:
        connection = sqlite3.connect(self.database, timeout=5.0)
        last = 0
        try:
            while not self.stop.wait(self.interval):
                rows = connection.execute("SELECT id FROM events WHERE id > ? ORDER BY id", (last,)).fetchall()
                if rows:
                    last = rows[-1][0]
        finally:
            connection.close()


def stats(values: list[float], unit: float = 1000.0, suffix: str = "ms") -> str:
    if not values:
        return "none"
    return (f"p50 {percentile(values, 0.5) * unit:.1f} {suffix}, p99 {percentile(values, 0.99) * unit:.1f} {suffix}, "
            f"max {max(values) * unit:.1f} {suffix}")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from consumer.records import Batch
    from consumer.sinks.sqlite import SqliteSink

    total_batches = max(1, int(args.seconds * args.rate / args.rows)) if args.rate else args.batches
    values = events(args.rows * total_batches, args.rate, wrapped=args.wrapped_times)
    with tempfile.TemporaryDirectory(prefix="logferry-flushes-") as tmp:
        database = Path(tmp) / "logs.db"
        wal = Path(str(database) + "-wal")
        sink = SqliteSink(str(database), lambda _letters: None)
        sink.setup()
        sink.stored_offsets([("logs", 0)])
        maintained: list[float] = []
        maintain = sink.maintain

        def timed_maintain(*a: Any, **k: Any) -> None:
            began = time.perf_counter()
            maintain(*a, **k)
            maintained.append(time.perf_counter() - began)

        sink.maintain = timed_maintain  # type: ignore[method-assign]
        reader = Reader(database, args.reader_ms / 1000) if args.reader_ms > 0 else None
        if reader is not None:
            reader.start()
        walls: list[float] = []
        cpus: list[float] = []
        upkeep: list[float] = []
        checkpointed: list[float] = []
        marks: list[str] = []
        peak_wal = 0
        offset = 0
        period = args.rows / args.rate if args.rate else 0.0
        started = time.monotonic()
        try:
            for number in range(total_batches):
                due = started + number * period
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                batch = Batch()
                for value in values[number * args.rows:(number + 1) * args.rows]:
                    batch.items.append(sink.prepare(orjson.loads(value), value))
                    batch.sources.append(("logs", 0, offset))
                    offset += 1
                batch.next_offsets[("logs", 0)] = offset
                sink.add(batch)
                before = database.stat()
                maintained.clear()
                cpu = time.thread_time()
                began = time.perf_counter()
                sink.flush()
                wall = time.perf_counter() - began
                cpus.append(time.thread_time() - cpu)
                walls.append(wall)
                upkeep.append(sum(maintained))
                after = database.stat()
                changed = (after.st_mtime_ns, after.st_size) != (before.st_mtime_ns, before.st_size)
                if changed:
                    checkpointed.append(wall)
                marks.append("checkpoint" if changed else "")
                peak_wal = max(peak_wal, wal.stat().st_size if wal.exists() else 0)
            elapsed = time.monotonic() - started
            checkpointer = getattr(sink, "checkpointer", None)  # the sink's own checkpoint thread, where it has one
            restarts = "" if checkpointer is None else f"; {checkpointer.restarts} RESTART checkpoints (the WAL at its bound)"
        finally:
            if reader is not None:
                reader.stop.set()
                reader.join(10)
            sink.close()
    rows = args.rows * total_batches
    slowest = sorted(range(len(walls)), key=lambda n: -walls[n])[:args.slowest]
    return {
        "slowest": ", ".join(f"#{n} {walls[n] * 1000:.0f} ms (CPU {cpus[n] * 1000:.0f}){' ' + marks[n] if marks[n] else ''}"
                             for n in sorted(slowest)),
        "rows": rows, "flushes": len(walls), "elapsed": elapsed,
        "wall": stats(walls), "cpu": stats(cpus), "upkeep": stats(upkeep),
        "over": ", ".join(f"{sum(1 for w in walls if w > limit)} over {limit * 1000:.0f} ms" for limit in (0.05, 0.1, 0.25)),
        "checkpointed": f"the main file changed during {len(checkpointed)} flushes ({stats(checkpointed)}){restarts}",
        "peak_wal": peak_wal, "writer_rate": rows / sum(walls), "cpu_per_row_us": sum(cpus) / rows * 1e6,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1500, help="rows per flush")
    parser.add_argument("--rate", type=float, default=10_000.0, help="rows per second; 0: back to back")
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of writing at --rate")
    parser.add_argument("--batches", type=int, default=100, help="with --rate 0: how many batches")
    parser.add_argument("--wrapped-times", action="store_true", help="the old corpus's times (freshness.line_for)")
    parser.add_argument("--slowest", type=int, default=0, help="list the N slowest flushes by number")
    parser.add_argument("--reader-ms", type=float, default=10.0, help="reader poll interval; 0 for no reader")
    args = parser.parse_args()
    result = run(args)
    print(f"{result['rows']:,} rows in {result['flushes']:,} flushes of {args.rows:,} over {result['elapsed']:.1f} s "
          f"(load {os.getloadavg()[0]:.1f})")
    print(f"  flush wall        {result['wall']}; {result['over']}")
    print(f"  flush CPU         {result['cpu']}; {result['cpu_per_row_us']:.1f} us per row")
    print(f"  of it upkeep      {result['upkeep']}")
    print(f"  checkpoints       {result['checkpointed']}")
    print(f"  peak WAL          {result['peak_wal'] / 1e6:,.1f} MB; writer alone could sustain "
          f"{result['writer_rate']:,.0f} rows/s")
    if args.slowest:
        print(f"  slowest           {result['slowest']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
