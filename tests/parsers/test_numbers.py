"""Metrics pairs in a text line's message become numeric attributes (issue #12, item 6); prose gives nothing.

The naming rule is schemas/README.md, "Numbers in text lines". Run compiled and as plain Python: the module is in
setup.py's compile list, and the last test runs the cases again in a child with LOGFERRY_PURE_PYTHON=1.
"""

import math
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.parsers import numbers
from shipper.parsers.numbers import MAX_ATTRIBUTES, numeric_attributes

ROOT = Path(__file__).resolve().parents[2]

POSITIVE: list[tuple[str, dict[str, int | float]]] = [
    # the shapes
    ("CPU: 12.5%, MEM: 40.10%", {"cpu_pct": 12.5, "mem_pct": 40.1}),
    (",CPU: 12.5%, MEM: 40.10%", {"cpu_pct": 12.5, "mem_pct": 40.1}),
    ("key=40", {"key": 40}),
    ("key: 12.5%", {"key_pct": 12.5}),
    ("latency 3ms", {"latency_ms": 3}),
    ("took 35 ms", {"duration_ms": 35}),
    ("rss=1.2GB", {"rss_bytes": 1_288_490_189}),
    # separators and spacing
    ("queue = 7", {"queue": 7}),
    ("queue =7 depth= 8", {"queue": 7, "depth": 8}),
    ("load:  0.75", {"load": 0.75}),
    ("cpu=12.5% mem=40%", {"cpu_pct": 12.5, "mem_pct": 40}),
    ("cpu 12.5 %", {"cpu_pct": 12.5}),
    ("cpu=12.5%,mem=3%", {"cpu_pct": 12.5, "mem_pct": 3}),
    ("cpu=5; mem=6", {"cpu": 5, "mem": 6}),
    ("[cpu=5] (mem=6) {io=7}", {"cpu": 5, "mem": 6, "io": 7}),
    ('stats "hits=9"', {"hits": 9}),
    ("request served in 35ms.", {"duration_ms": 35}),
    ("count: 5 items", {"count": 5}),
    # units: time to milliseconds, sizes to bytes (1024-based), percent kept
    ("gc 2s", {"gc_ms": 2000}),
    ("took 1.5s", {"duration_ms": 1500.0}),
    ("wait=250us", {"wait_ms": 0.25}),
    ("wait=250\u00b5s", {"wait_ms": 0.25}),
    ("rtt=1500ns", {"rtt_ms": 0.0015}),
    ("ttl=2min", {"ttl_ms": 120_000}),
    ("ttl=2 minutes", {"ttl_ms": 120_000}),
    ("age=3h", {"age_ms": 10_800_000}),
    ("retention: 7 days", {"retention_ms": 604_800_000}),
    ("heap=512MB", {"heap_bytes": 536_870_912}),
    ("heap=512 MiB", {"heap_bytes": 536_870_912}),
    ("sent 512 bytes", {"sent_bytes": 512}),
    ("size=2KB", {"size_bytes": 2048}),
    ("size=2kb", {"size_bytes": 2048}),
    ("disk=1TB", {"disk_bytes": 1 << 40}),
    ("latency=3MS", {"latency_ms": 3}),
    # names: lower case, other characters to one `_`, no doubled suffix, duration words, reserved names
    ("Heap-Used = 512 MiB", {"heap_used_bytes": 536_870_912}),
    ("heap.used.max=1", {"heap_used_max": 1}),
    ("HTTP_Requests=3", {"http_requests": 3}),
    ("elapsed_ms=12", {"elapsed_ms": 12}),
    ("latency_ms: 5ms", {"latency_ms": 5}),
    ("cpu_pct=5%", {"cpu_pct": 5}),
    ("elapsed 3s", {"duration_ms": 3000}),
    ("retrying for 5s", {"duration_ms": 5000}),
    ("error: 3", {"error_value": 3}),
    ("log=1 timestamp=2 body=3", {"log_value": 1, "timestamp_value": 2, "body_value": 3}),
    ("error=5%", {"error_pct": 5}),
    # signs, zero
    ("delta=-5 gain=+3", {"delta": -5, "gain": 3}),
    ("offset=-0.0", {"offset": 0.0}),
    ("zero=0 half=0.5", {"zero": 0, "half": 0.5}),
    # repeated keys: the last wins
    ("cpu=1 cpu=2", {"cpu": 2}),
    # mixed with prose and with things that are refused
    ("worker 3 finished: rows=120 took 35ms from 10.0.0.1", {"rows": 120, "duration_ms": 35}),
    ("GET /api 200 size=512B", {"size_bytes": 512}),
]

NEGATIVE = [
    # sentences with numbers
    "retry 3 of 5",
    "Listening on port 8080",
    "user 42 logged in",
    "sent 3 messages to 2 peers",
    "Step 3: done",
    "Error 404: not found",
    "GET /api 200 35ms",  # the key before 35ms is a number
    "2026-03-14 10:00:00 worker started",
    # addresses, versions, dates, times, ids
    "from 10.0.0.1 port",
    "ip=10.0.0.1",
    "addr=[::1]:8080",
    "connecting to localhost:8080",
    "connecting to db.example.com:5432",
    "http://host:8080/a?b=5&c=6",
    "version 1.2.3",
    "version=1.2.3",
    "v1.2",
    "date=2026-03-14",
    "at 2026-03-14",
    "time: 10:30:00",
    "started at 10:30",
    "id=0x1f",
    "req=12ab34",
    "uuid=123e4567-e89b-12d3-a456-426614174000",
    "trace=4bf92f3577b34da6a3ce929d0e0e4736",
    "zip=01234",
    "at=09",
    "x=1e5",
    # units that are not units, rates, ratios, compound durations, thousands separators
    "temp=5C",
    "rate=12MB/s",
    "ratio=3/5",
    "wait=1m30s",
    "up=1h30m",
    "bytes=1,234,567",
    "speed=12kbps",
    "cpu=12,5%",
    # keys that are not keys
    "a=b=5",
    "status=ok 5ms",
    "-=5",
    "_x=5",
    "x.=5",
    "cpu : 5",
    "5=5",
    "\u00e9t\u00e9=5",
    # too long: a key, a number, a unit word
    "k" * 65 + "=1",
    "n=" + "1" * 20,
    "n=5" + "s" * 10,
    "",
    "no digits here",
]


@pytest.mark.parametrize(("message", "expected"), POSITIVE, ids=[m for m, _ in POSITIVE])
def test_metrics_pairs_become_numbers(message: str, expected: dict[str, int | float]) -> None:
    found = numeric_attributes(message)
    assert found == expected
    for name, value in found.items():  # the written type survives: 40 is an int, 40.10 a float
        assert type(value) is type(expected[name]), (name, value)


@pytest.mark.parametrize("message", NEGATIVE)
def test_prose_and_other_numbers_give_nothing(message: str) -> None:
    assert numeric_attributes(message) == {}


def test_the_count_is_bounded_and_the_first_pairs_are_kept() -> None:
    message = " ".join(f"k{i}={i}" for i in range(200))
    found = numeric_attributes(message)
    assert len(found) == MAX_ATTRIBUTES
    assert found == {f"k{i}": i for i in range(MAX_ATTRIBUTES)}


def test_only_the_head_of_a_long_message_is_read() -> None:
    head = "cpu=1 " + "x" * (numbers._SCAN_LIMIT - 10)
    assert numeric_attributes(head + " mem=2") == {"cpu": 1}


_NAME = re.compile(r"[a-z][a-z0-9_]*")
_PIECE_LIST = [
    " ", "=", ":", ": ", ",", ".", "-", "+", "%", "ms", " ms", "s", "GB", "x", "cpu", "Mem", "took", "log", "0", "1",
    "12", "12.5", "007", "1.2.3", "10.0.0.1", "\t", "/", "[", "]", '"', "\u00b5", "\u00e9", "e5", "0x1f", "2026-03-14",
]
_PIECES = st.sampled_from(_PIECE_LIST)


@settings(max_examples=800, deadline=None)
@given(st.lists(_PIECES, max_size=40).map("".join) | st.text(max_size=200))
def test_never_raises_and_stays_bounded(message: str) -> None:
    found = numeric_attributes(message)
    assert len(found) <= MAX_ATTRIBUTES
    for name, value in found.items():
        assert _NAME.fullmatch(name), name
        assert name not in numbers._RESERVED
        assert type(value) in (int, float) and math.isfinite(value)
        assert len(name) <= 64 + len("_bytes_value")


# hostile messages: each piece repeated to 320 KB; a linear scan reads them in well under 10 ms of CPU per KiB
_HOSTILE = ["1", "1.", "1 ", "a=1 ", "a=", "a ", "a: 1 ", "k" * 70 + "=1 ", "1" * 30 + " ", "x 1ms ", "-", "=1",
            "a=-", ":", "1%", "1" + "s" * 9, "a" * 63 + " 1", "    1"]


@pytest.mark.parametrize("piece", _HOSTILE)
def test_hostile_messages_are_read_in_linear_time(piece: str) -> None:
    message = piece * (320_000 // len(piece))
    started = time.process_time()
    found = numeric_attributes(message)
    seconds = time.process_time() - started
    assert len(found) <= MAX_ATTRIBUTES
    assert seconds <= 0.010 * len(message) / 1024, seconds  # the project's bound (tests/hostile/test_parser_linearity.py)
    # the scan limit keeps it far below that; without it the same pieces still scan in linear time
    started = time.process_time()
    for start in range(0, len(message), numbers._SCAN_LIMIT):
        numeric_attributes(message[start:start + numbers._SCAN_LIMIT])
    seconds = time.process_time() - started
    assert seconds <= 0.010 * len(message) / 1024, seconds


def test_plain_python_gives_the_same_answers() -> None:
    """The source (what Windows and LOGFERRY_PURE_PYTHON=1 run) against this process's build."""
    rng = random.Random(12)
    noise = ["".join(rng.choice(_PIECE_LIST) for _ in range(rng.randint(1, 30))) for _ in range(3000)]
    cases = [message for message, _ in POSITIVE] + NEGATIVE + noise
    script = (
        "import sys, orjson\n"
        "from shipper.parsers.numbers import numeric_attributes\n"
        "print(orjson.dumps([numeric_attributes(m) for m in orjson.loads(sys.stdin.buffer.read())]).decode())\n"
    )
    import orjson

    env = {**os.environ, "LOGFERRY_PURE_PYTHON": "1"}
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", script], input=orjson.dumps(cases), cwd=ROOT, env=env,
                          capture_output=True, timeout=120, check=True)
    assert orjson.loads(done.stdout) == orjson.loads(orjson.dumps([numeric_attributes(m) for m in cases]))
