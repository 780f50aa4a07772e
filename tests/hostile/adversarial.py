"""Adversarial lines for every built-in format, and the CPU time a StreamParser spends on one.

A line is a format's own valid head (so the deep parts of its patterns are reached), then one short piece repeated to
the size asked for, then a tail that makes the line fail late (an unclosed quote, a `!` where an address was due).
The pieces are the shapes that make backtracking engines and naive scans blow up: lists (`a::1,`), long repeats,
unbalanced quotes and brackets, runs of separators, `=`, `[`, `"`, digits, near-miss timestamps.

Run as `python -m tests.hostile.adversarial [SIZE]` (32 KiB by default) it measures every fixed case in this process
and prints one JSON line per case (`{"case": ..., "bytes": ..., "seconds": ...}`), starting each with a `{"start": ...}`
line, so a parent that times it out knows which case hung (tests/hostile/test_parser_linearity.py).
"""

import sys
import time
from collections.abc import Iterator
from typing import Any

import orjson

from shipper.config import InputSettings
from shipper.records import RawRecord, StreamContext

OBSERVED_NS = 1_714_528_805_123_456_789
FORMATS = (
    "json", "logfmt", "syslog", "nginx", "apache", "apache_error", "iis", "golog", "python", "java", "cri", "docker",
    "plain", "text", "auto",
)
HEADS: dict[str, tuple[str, ...]] = {
    "json": ('{"msg": "', '{"a": [', '{"level": "info", "time": "2024-05-01T02:00:0'),
    "logfmt": ("a=1 b=2 ", 'time=2024-05-01T02:00:01Z msg="', "level=info k="),
    "syslog": (
        "<34>1 2024-05-01T02:00:00Z host app - - [", '<34>1 2024-05-01T02:00:00Z host app - - [id a="',
        "<13>May  1 02:00:01 web-1 ", "<13>2024-05-01T02:00:01", "May  1 02:00:0",
    ),
    "nginx": (
        '1.2.3.4 - - [01/May/2024:02:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "ua" "',
        '1.2.3.4 - - [01/May/2024:02:00:01 +0000] "', "1.2.3.4 - - [01/May/2024:02:00:0",
    ),
    "apache": ('1.2.3.4 - - [01/May/2024:02:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "ua" ',),
    "apache_error": ("[Sun Dec 04 04:47:44 2005] [", "[Fri Sep 09 10:42:29.902022 2011] [core:error] [client "),
    "iis": ("2024-05-01 02:00:01 10.0.0.5 GET ", "#Fields: "),
    "golog": (
        "2024/05/01 02:00:01 ", "2024/05/01 02:00:01.000042 a", "prefix 2024/05/01 02:0", "panic: ",
        "2024/05/01 02:00:01 a.go:1: [ERROR", "2024/05/01 02:00:01 panic: ",
    ),
    "python": ("2024-05-01 02:00:01,123 - ", "2024-05-01 02:00:01,123 INFO ", "[2024-05-01 02:00:01,123] INFO in ", "INFO:"),
    "java": ("2024-05-01 02:00:01,123 [", "2024-05-01 02:00:01,123 INFO [main] ", "02:00:01.123 [main] INFO "),
    "cri": ("2019-05-07T18:57:50.904275087+00:00 stdout F", "2019-05-07T18:57:50.9"),
    "docker": ('{"log":"', '{"log":"x\\n","stream":"stdout","time":"2019-05-07T18:57:5'),
    "plain": ("",),
    "text": (
        "2024-05-01 02:00:01 [", "Dec 01, 2024 12:00:14 PM ", "05-01 02:00:01.123  1  2 E ", "I0501 02:00:01.123456 ",
        "1714528801.5 ", "Wed, 01 May 2024 02:00:01 +0000 ",
    ),
}
HEADS["auto"] = tuple(head for heads in HEADS.values() for head in heads[:2])
PIECES = (
    " ", "\t", ",", "=", "[", "]", '"', "\\", ":", "/", "-", ".", "0", "a", "a=", "a= ", "a=1 ", 'a="', "x ", '"a',
    "[a", "a::1,", "1.1.1.1, ", "\\\"", "{", "}", "<", ">", '=""', 'k="v\\" ', "[a b=\"c\"", "a.", "ExceptionX",
    "Error", "2024-05-01T", "01/May/2024:", "00:00:", "2024/05/01 ", "a.go:1: ", " - ", "INFO ", "]: ", "[pid ",
)
TAILS = ("", "!", '"', "\\", " x")
TRACE_HEADS: dict[str, tuple[str, ...]] = {
    "java": ("2024-05-01 02:00:01,123 ERROR [main] com.example.App - boom",),
    "python": ("2024-05-01 02:00:01,123 - app - ERROR - boom", "Traceback (most recent call last):"),
    "golog": ("2024/05/01 02:00:01 a.go:1: INFO up", "panic: boom", "", "goroutine 1 [running]:"),
    "text": ("2024-05-01 02:00:01 [ERROR] boom",),
}
"""the first lines of an event whose continuation lines (stack traces) are the adversarial ones"""
TRACE_PIECES = (
    "Exception", "a.", "aError", "a.Exception", "$", "_", "\tat a.", "Caused by: ", "... 1 ", "(", ")", "a(", "goroutine 1 [",
    "\t/a.go:1 +0x1", "created by ",
)
XFF_LINE = '10.1.2.3 - - [01/May/2024:02:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "ua" "' + "a::1," * 40 + '!"'
"""issue #11 (Why 1): the X-Forwarded-For list that made the access pattern backtrack exponentially"""


def logfmt_line(size: int) -> str:
    """issue #11 (Why 5): `a=1 b=2 x x x ...`, a bare key per two bytes (quadratic in the old bare-key check)."""
    return "a=1 b=2 " + "x " * max(0, (size - 8) // 2)


def repeated(head: str, piece: str, tail: str, size: int) -> str:
    """`head`, `piece` repeated to about `size` characters, `tail`."""
    return head + piece * max(1, (size - len(head) - len(tail)) // len(piece)) + tail


Case = tuple[str, str, tuple[str, ...]]
"""case name, format, the lines (one, or an event's first lines and an adversarial continuation line)"""


def fixed_cases(size: int) -> Iterator[Case]:
    """The two lines of the issue, then every head x piece x tail of every format (the tails on the first head only,
    to keep the count down), stack traces with adversarial continuation lines, then 1 MiB of each separator."""
    yield "xff-nginx", "nginx", (XFF_LINE,)
    yield "xff-auto", "auto", (XFF_LINE,)
    for log_format in ("logfmt", "auto"):
        yield f"logfmt-bare-keys-{log_format}", log_format, (logfmt_line(size),)
    for log_format in FORMATS:
        for number, head in enumerate(HEADS[log_format]):
            for piece in PIECES:
                for tail in TAILS if number == 0 else ("!",):
                    yield f"{log_format}:{head!r}+{piece!r}*+{tail!r}", log_format, (repeated(head, piece, tail, size),)
    for trace_format, heads in TRACE_HEADS.items():
        for log_format in (trace_format, "auto"):
            for piece in PIECES + TRACE_PIECES:
                for tail in ("!", ":", ""):
                    line = repeated("", piece, tail, size)
                    yield f"{log_format}:trace {heads[-1]!r} then {piece!r}*+{tail!r}", log_format, (*heads, line)
    for log_format in FORMATS:
        for separator in (" ", ",", "=", "[", '"', "\t", ":"):
            yield f"{log_format}:MiB of {separator!r}", log_format, (separator * (1 << 20),)


def settings(log_format: str) -> InputSettings:
    return InputSettings(id="adversarial", paths=["/logs/*.log"], format=log_format, timezone="UTC")


def records(lines: tuple[str, ...]) -> list[RawRecord]:
    out = []
    offset = 0
    for line in lines:
        data = line.encode()
        out.append(RawRecord(offset, offset + len(data) + 1, data))
        offset += len(data) + 1
    return out


def parse_seconds(log_format: str, lines: tuple[str, ...]) -> tuple[float, list[dict[str, Any]]]:
    """Process CPU seconds a fresh StreamParser of `log_format` spends on `lines` (feed and forced flush), and the
    events."""
    from shipper.parsers.pipeline import StreamParser

    context = StreamContext("adversarial", "0123456789abcdef", "/logs/a.log", "utf-8", {"host.id": "h"}, {})
    parser = StreamParser(settings(log_format), context)
    batch = records(lines)
    start = time.process_time()
    encoded = parser.feed(batch, OBSERVED_NS)
    encoded += parser.flush(OBSERVED_NS, force=True)
    seconds = time.process_time() - start
    return seconds, [orjson.loads(item.value) for item in encoded]


def size_of(lines: tuple[str, ...]) -> int:
    return sum(len(line.encode()) + 1 for line in lines)


def limit_seconds(size: int) -> float:
    """The bound the tests assert for `size` bytes of lines: 10 ms per KiB, at least 50 ms (a tiny line on a loaded
    box)."""
    return max(0.05, 0.010 * size / 1024)


def check_events(lines: tuple[str, ...], events: list[dict[str, Any]]) -> None:
    """Every line is in an event (one event per line, or a stack trace's lines joined in fewer), none doubled."""
    assert 1 <= len(events) <= len(lines), len(events)
    texts = [event["attributes"].get("log.record.original", event["body"]) for event in events]
    assert "\n".join(str(text) for text in texts) == "\n".join(lines)


def main(size: int) -> None:
    for name, log_format, lines in fixed_cases(size):
        print(orjson.dumps({"start": name}).decode(), flush=True)
        seconds, events = parse_seconds(log_format, lines)
        check_events(lines, events)
        print(orjson.dumps({"case": name, "bytes": size_of(lines), "seconds": seconds}).decode(), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 32768)
