"""Property tests: whatever the bytes (invalid UTF-8, NUL, lone CR, huge lines, near-miss formats), every parser
returns events that validate against the schema and together keep every line's text, and never raises."""

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.validate import schema_errors
from shipper.config import formats
from shipper.records import RawRecord
from tests.parsers.support import OBSERVED_NS, make_parser, make_settings, raw_text

# Lines that look almost like each format, so the parsers get past their first character.
_SEEDS = [
    b'{"time":"2024-05-01T02:00:01Z","level":"info","msg":"x"}', b'{"log":"x","stream":"stdout","time":"2024-05-01T02:00:01Z"}',
    b"time=2024-05-01T02:00:01Z level=info msg=\"x\"", b"<34>Oct 11 22:14:15 host su: x",
    b"<165>1 2003-10-11T22:14:15.003Z h a - - [a b=\"c\"] x",
    b'127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 1 "-" "-"', b"[Sun Dec 04 04:47:44 2005] [notice] x",
    b"#Fields: date time c-ip", b"2024-05-01 02:00:01 10.0.0.1", b"2009/01/23 01:23:23.123123 d.go:23: x",
    b"2024-05-01 02:00:01,123 - a - INFO - x", b"Traceback (most recent call last):",
    b"2024-05-01 02:00:01.123 ERROR [main] a.B - x",
    b"\tat a.B(B.java:1)", b"2019-05-07T18:57:50.904275087+00:00 stdout P x",
]
_line = st.one_of(
    st.binary(max_size=80).map(lambda b: b.replace(b"\n", b"")),
    st.tuples(st.sampled_from(_SEEDS), st.integers(0, 60), st.binary(max_size=6)).map(
        lambda t: (t[0][: t[1]] + t[2] + t[0][t[1]:]).replace(b"\n", b"")
    ),
    st.text(max_size=60).map(lambda s: s.encode("utf-8", "surrogatepass").replace(b"\n", b"")),
    st.sampled_from([b"\x00", b"\r", b"a\rb", b"\xff\xfe", b"\xed\xa0\x80", b"x" * 70_000, b"{" * 3000 + b"}" * 3000]),
)
_PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _check(log_format: str, lines: list[bytes], encoding: str, extra: dict[str, Any]) -> None:
    overrides: dict[str, Any] = {"encoding": encoding, **extra}
    if log_format == "regex":
        pattern = r"^(?P<timestamp>\S+ \S+) (?P<level>\w+) (?P<message>.*)$"
        overrides["regex"] = {"pattern": pattern, "timestamp_format": "%Y-%m-%d %H:%M:%S"}
    parser = make_parser(make_settings(log_format, overrides), encoding)
    records, offset = [], 0
    for data in lines:
        records.append(RawRecord(offset, offset + len(data) + 1, data, truncated=len(data) > 60_000))
        offset += len(data) + 1
    encoded = parser.feed(records, OBSERVED_NS) + parser.flush(OBSERVED_NS, force=True)
    assert parser.held_from() is None
    events = [orjson.loads(item.value) for item in encoded]
    for event in events:
        assert schema_errors(event) == [], event
    events.sort(key=lambda e: int(e["event_id"][16:], 16))
    assert [int(e["event_id"][16:], 16) for e in events][:1] == [r.offset for r in records][:1]
    decoded = [r.data.decode(encoding, "replace") for r in records]
    assert "\n".join(raw_text(e) for e in events) == "\n".join(decoded)


def _property(log_format: str, extra: dict[str, Any] | None = None) -> Any:
    @_PROPERTY
    @given(lines=st.lists(_line, max_size=6), encoding=st.sampled_from(["utf-8", "utf-8", "latin-1", "cp1252", "utf-16-le"]))
    def test(lines: list[bytes], encoding: str) -> None:
        if encoding == "utf-16-le":
            lines = [line if len(line) % 2 == 0 else line + b"\x00" for line in lines]
        _check(log_format, lines, encoding, extra or {})

    return test


for _format in formats():
    globals()[f"test_{_format}_never_raises_and_keeps_every_line"] = _property(_format)
test_multiline_start_never_raises_and_keeps_every_line = _property(
    "auto", {"multiline": {"mode": "start", "pattern": r"^\d", "max_lines": 3, "max_bytes": 200}}
)
test_multiline_continue_never_raises_and_keeps_every_line = _property(
    "java", {"multiline": {"mode": "continue", "pattern": r"^\s", "max_lines": 2}}
)
