"""Parse throughput: lines/s per format and for mixed files in `auto` mode, one core, serialisation included.

Times are CPU seconds of this process (time.process_time), so other load on the machine inflates them less.

Each run builds synthetic but realistic lines (timestamps advancing 1 ms per line, varied values), feeds
them to a StreamParser in batches of 1,000 records (as the harvester does) and counts the serialised
events. Prints figures only; asserts nothing.

    .venv/bin/python bench/parse_throughput.py [--lines 100000] [--format json,nginx] [--profile FORMAT]

The compiled parsers are invisible to cProfile; profile them by instructions, which also do not depend on the machine's
load: `valgrind --tool=callgrind --toggle-collect='CPyPy_*StreamParser___feed' .venv/bin/python
bench/parse_throughput.py --profile FORMAT --lines 20000`, then `callgrind_annotate --inclusive=yes`. Set PYTHONHASHSEED=0
when comparing two builds: the string hashes' seed alone moves a profile's count by up to ~0.7% between runs.
"""

import argparse
import calendar
import random
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson

from schemas.timefmt import format_ns, parse_rfc3339_ns
from shipper.config import InputSettings, MultilineSettings
from shipper.parsers import pipeline
from shipper.parsers.pipeline import StreamParser
from shipper.records import RawRecord, StreamContext

START_S = 1_714_528_800  # 2024-05-01T02:00:00Z
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
PATHS = ("/api/v1/users", "/api/v1/orders/12345", "/static/app.js", "/login", "/health")
AGENTS = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36", "curl/8.5.0")
WORDS = ("connection", "request", "cache", "worker", "queue", "timeout", "database", "session", "error", "retry")
LEVELS = ("INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR")


def _clock(i: int) -> tuple[int, int]:
    ms = i  # one line per millisecond
    return START_S + ms // 1000, (ms % 1000) * 1_000_000 + (i * 7919) % 1_000_000


def _ymdhms(seconds: int) -> time.struct_time:
    return time.gmtime(seconds)


def _message(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 10)))


def json_line(i: int, rng: random.Random) -> str:
    s, ns = _clock(i)
    t = _ymdhms(s)
    return (
        f'{{"time":"{t.tm_year}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{ns // 1000:06d}Z",'
        f'"level":"{rng.choice(LEVELS).lower()}","msg":"{_message(rng)}","service":"checkout","request_id":"r{i}",'
        f'"duration_ms":{rng.randint(1, 900)},"user":{{"id":{rng.randint(1, 10**6)},"plan":"pro"}}}}'
    )


def nginx_line(i: int, rng: random.Random) -> str:
    s, _ = _clock(i)
    t = _ymdhms(s)
    return (
        f'10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)} - - [{t.tm_mday:02d}/{MONTHS[t.tm_mon - 1]}/{t.tm_year}:'
        f'{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000] "GET {rng.choice(PATHS)}?page={i % 50} HTTP/1.1" '
        f'{rng.choice((200, 200, 200, 304, 404, 500))} {rng.randint(0, 50000)} "https://example.com/" "{rng.choice(AGENTS)}"'
    )


def golog_line(i: int, rng: random.Random) -> str:
    s, ns = _clock(i)
    t = _ymdhms(s)
    return (
        f"{t.tm_year}/{t.tm_mon:02d}/{t.tm_mday:02d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{ns // 1000:06d} "
        f"/src/app/server.go:{rng.randint(10, 400)}: {_message(rng)}"
    )


def syslog_line(i: int, rng: random.Random) -> str:
    s, _ = _clock(i)
    t = _ymdhms(s)
    return (
        f"<{rng.choice((13, 30, 86, 38))}>{MONTHS[t.tm_mon - 1]} {t.tm_mday:2d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} "
        f"web-{rng.randint(1, 9)} sshd[{rng.randint(100, 9999)}]: {_message(rng)}"
    )


def logfmt_line(i: int, rng: random.Random) -> str:
    s, ns = _clock(i)
    t = _ymdhms(s)
    return (
        f"time={t.tm_year}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{ns // 1000:06d}Z "
        f'level={rng.choice(LEVELS).lower()} msg="{_message(rng)}" component=scheduler attempt={rng.randint(1, 5)}'
    )


def python_line(i: int, rng: random.Random) -> str:
    s, ns = _clock(i)
    t = _ymdhms(s)
    return (
        f"{t.tm_year}-{t.tm_mon:02d}-{t.tm_mday:02d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d},{ns // 1_000_000:03d} - "
        f"app.worker - {rng.choice(('INFO', 'WARNING', 'ERROR', 'DEBUG'))} - {_message(rng)}"
    )


def java_line(i: int, rng: random.Random) -> str:
    s, ns = _clock(i)
    t = _ymdhms(s)
    return (
        f"{t.tm_year}-{t.tm_mon:02d}-{t.tm_mday:02d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{ns // 1_000_000:03d} "
        f"{rng.choice(LEVELS)} [main] com.example.OrderService - {_message(rng)}"
    )


def cri_line(i: int, rng: random.Random) -> str:
    s, ns = _clock(i)
    t = _ymdhms(s)
    return (
        f"{t.tm_year}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{ns:09d}+00:00 "
        f"{rng.choice(('stdout', 'stderr'))} F {_message(rng)}"
    )


def plain_line(i: int, rng: random.Random) -> str:
    return f"worker {i % 8}: {_message(rng)}"


def text_line(i: int, rng: random.Random) -> str:
    """A generic layout no structured format claims (the text format's learned fast path)."""
    s, ns = _clock(i)
    t = _ymdhms(s)
    return (
        f"{t.tm_year}-{t.tm_mon:02d}-{t.tm_mday:02d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{ns // 1_000_000:03d} "
        f"[{rng.choice(LEVELS)}] worker-{i % 8} {_message(rng)}"
    )


def hdfs_line(i: int, rng: random.Random) -> str:
    """HDFS's compact `yyMMdd HHmmss thread LEVEL class: message`."""
    s, _ = _clock(i)
    t = _ymdhms(s)
    return (
        f"{t.tm_year % 100:02d}{t.tm_mon:02d}{t.tm_mday:02d} {t.tm_hour:02d}{t.tm_min:02d}{t.tm_sec:02d} {rng.randint(1, 999)} "
        f"{rng.choice(LEVELS)} dfs.DataNode$PacketResponder: {_message(rng)}"
    )


def logcat_line(i: int, rng: random.Random) -> str:
    """Android logcat threadtime: year-less `MM-dd HH:mm:ss.SSS  pid  tid L Tag: message`."""
    s, ns = _clock(i)
    t = _ymdhms(s)
    return (
        f"{t.tm_mon:02d}-{t.tm_mday:02d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{ns // 1_000_000:03d} "
        f" {rng.randint(100, 9999):4d}  {rng.randint(100, 9999):4d} {rng.choice('VDIWE')} WindowManager: {_message(rng)}"
    )


GENERATORS: dict[str, Callable[[int, random.Random], str]] = {
    "json": json_line, "nginx": nginx_line, "golog": golog_line, "syslog": syslog_line, "logfmt": logfmt_line,
    "python": python_line, "java": java_line, "cri": cri_line, "plain": plain_line,
    "text": text_line, "hdfs": hdfs_line, "logcat": logcat_line,
}
GENERIC = ("text", "hdfs", "logcat")
"""generic layouts: declared as format "text", learned in auto"""
MIXED = ("json", "nginx", "golog", "syslog")


_BASE_NGINX = re.compile(r'(\S+) \S+ (\S+) \[([^\]]+)\] "([^"]*)" (\d{3}) (\d+|-) "([^"]*)" "([^"]*)"')
_BASE_GOLOG = re.compile(r"(\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))? (?:(\S+\.go):(\d+): )?(.*)")
_BASE_SYSLOG = re.compile(r"<(\d+)>([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) (\S+) ([^:\[]+)(?:\[(\d+)\])?: (.*)")


def baseline(lines: list[bytes]) -> tuple[float, int]:
    """The straightforward parser the reference notes measured (~130k lines/s on the build VMs): try each format's
    compiled regex in turn, a day-epoch cache for timestamps, one dict per event, orjson. The yardstick for the ratio."""
    days: dict[str, int] = {}

    def epoch(date: tuple[int, int, int], h: int, m: int, sec: int) -> int:
        key = f"{date}"
        if key not in days:
            days[key] = calendar.timegm((*date, 0, 0, 0, 0, 0, 0))
        return days[key] + h * 3600 + m * 60 + sec

    started = time.process_time()
    count = 0
    observed = time.time_ns()
    for offset, line in enumerate(lines):
        text = line.decode("utf-8", "replace")
        attributes: dict[str, object] = {"log.file.path": "/var/log/bench/app.log", "log.file.record_offset": offset}
        ts, level, body, fmt = observed, None, text, "plain"
        if text.startswith("{"):
            obj = orjson.loads(text)
            body, level, fmt = obj.pop("msg", text), obj.pop("level", None), "json"
            stamp = obj.pop("time", None)
            ts = parse_rfc3339_ns(stamp) if stamp else observed
            attributes.update(obj)
        elif (m := _BASE_NGINX.match(text)) is not None:
            d = m[3]
            ts = epoch((int(d[7:11]), MONTHS.index(d[3:6]) + 1, int(d[0:2])), int(d[12:14]), int(d[15:17]), int(d[18:20])) * 10**9
            attributes.update({"client.address": m[1], "http.request.line": m[4], "http.response.status_code": int(m[5]),
                               "user_agent.original": m[8]})
            fmt = "nginx"
        elif (m := _BASE_GOLOG.match(text)) is not None:
            seconds = epoch((int(m[1]), int(m[2]), int(m[3])), int(m[4]), int(m[5]), int(m[6]))
            ts = seconds * 10**9 + int((m[7] or "0").ljust(9, "0"))
            body, fmt = m[10], "golog"
        elif (m := _BASE_SYSLOG.match(text)) is not None:
            ts = epoch((2024, MONTHS.index(m[2]) + 1, int(m[3])), int(m[4]), int(m[5]), int(m[6])) * 10**9
            body, level, fmt = m[10], str(int(m[1]) & 7), "syslog"
            attributes.update({"log.syslog.hostname": m[7], "log.syslog.appname": m[8]})
        if body is not text:
            attributes["log.record.original"] = text
        event = {"schema_version": 1, "event_id": f"0123456789abcdef{offset:016x}", "timestamp": format_ns(ts),
                 "observed_timestamp": format_ns(observed), "severity_text": level, "severity_number": 0, "body": body,
                 "resource": {"host.name": "bench-host"}, "attributes": attributes, "format": fmt, "input_id": "bench",
                 "parse_error": False}
        orjson.dumps(event)
        count += 1
    return time.process_time() - started, count


def records(lines: list[bytes]) -> list[RawRecord]:
    out, offset = [], 0
    for line in lines:
        out.append(RawRecord(offset, offset + len(line) + 1, line))
        offset += len(line) + 1
    return out


def batches(items: list[RawRecord], size: int = 1000) -> Iterator[list[RawRecord]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def run(lines: list[bytes], log_format: str) -> tuple[float, int]:
    settings = InputSettings(id="bench", paths=["/bench/*.log"], format=log_format, timezone="UTC", multiline=MultilineSettings())
    context = StreamContext("bench", "0123456789abcdef", "/var/log/bench/app.log", "utf-8",
                            {"service.name": "bench", "host.name": "bench-host", "host.id": "b" * 32}, {"env": "bench"})
    parser = StreamParser(settings, context)
    items = records(lines)
    observed = START_S * 1_000_000_000 + 5_000_000_000
    started = time.process_time()
    count = 0
    for batch in batches(items):
        count += len(parser.feed(batch, observed))
    count += len(parser.flush(observed, force=True))
    return time.process_time() - started, count


def make(log_format: str, n: int, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    generate = GENERATORS[log_format]
    return [generate(i, rng).encode() for i in range(n)]


def best_of(lines: list[bytes], log_format: str, repeats: int) -> tuple[float, int]:
    run(lines[: len(lines) // 4], log_format)  # warm-up: allocator, caches
    return min(run(lines, log_format) for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--format", default=",".join(GENERATORS), help="comma-separated formats to measure")
    parser.add_argument("--profile", default="", help="run only this format (or 'mixed') once, for a profiler")
    args = parser.parse_args()
    n = args.lines
    if args.profile:
        lines = _mixed(n, interleaved=True) if args.profile == "mixed" else make(args.profile, n)
        seconds, count = run(lines, "auto")
        print(f"{args.profile}: {count / seconds:,.0f} lines/s (parsers: {_build()})")
        return
    print(f"parse throughput, one core, {n:,} lines per run, best of {args.repeats}, batches of 1,000, serialisation included")
    print(f"  parsers: {_build()}")
    for name in args.format.split(","):
        lines = make(name, n)
        declared, _ = best_of(lines, "text" if name in GENERIC else name, args.repeats)
        automatic, count = best_of(lines, "auto", args.repeats)
        size = sum(len(line) + 1 for line in lines) / n
        print(
            f"  {name:8s} declared {n / declared:>10,.0f} lines/s   auto {n / automatic:>10,.0f} lines/s"
            f"   ({size:.0f} B/line, {count:,} events)"
        )
    for interleaved in (False, True):
        lines = _mixed(n, interleaved=interleaved)
        seconds, count = best_of(lines, "auto", args.repeats)
        base, _ = min(baseline(lines) for _ in range(args.repeats + 1))
        shape = "interleaved line by line" if interleaved else "in blocks of 1,000 lines"
        print(
            f"  mixed {'+'.join(MIXED)} {shape}, auto: {n / seconds:,.0f} lines/s ({count:,} events); "
            f"straightforward baseline on the same lines: {n / base:,.0f} lines/s, ratio {base / seconds:.2f}x"
        )


def _build() -> str:
    """Whether the parsers run compiled (setup.py builds them with mypyc) or as plain Python, and from where."""
    where = Path(pipeline.__file__ or "?")
    kind = "compiled (mypyc)" if where.suffix != ".py" else "plain Python"
    return f"{kind}, {where.parent}"


def _mixed(n: int, *, interleaved: bool) -> list[bytes]:
    per = {name: make(name, n // len(MIXED) + 1000, seed=index) for index, name in enumerate(MIXED)}
    out: list[bytes] = []
    if interleaved:
        for i in range(n):
            out.append(per[MIXED[i % len(MIXED)]][i // len(MIXED)])
    else:
        block = 1000
        i = 0
        while len(out) < n:
            name = MIXED[(i // block) % len(MIXED)]
            out.append(per[name][(i // (block * len(MIXED))) * block + i % block])
            i += 1
    return out


if __name__ == "__main__":
    main()
