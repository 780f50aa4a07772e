"""A user's regex cannot hang the shipper: nested unbounded repeats are refused at validation, and any pattern
runs with a per-line timeout, after which the line ships as a flagged parse-error event."""

import orjson
import pytest

from shipper.config import parse_config
from shipper.parsers.pipeline import StreamParser
from shipper.parsers.regex_safety import catastrophic_shape
from shipper.records import RawRecord, StreamContext


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"^(\w+\s?)*$", r"(x+x+)+y", r"((ab)*)*", r"(?:(?:a+)b?)*"])
def test_nested_unbounded_repeats_are_refused(pattern: str) -> None:
    assert catastrophic_shape(pattern) is not None


@pytest.mark.parametrize(
    "pattern",
    [r"(?P<ts>\S+) (?P<level>\w+) (?P<message>.*)", r"(\d+,)*\d+", r"(?>a+)+", r"(a{2,5})+", r"(a|b)*c"],
)
def test_ordinary_patterns_pass(pattern: str) -> None:
    assert catastrophic_shape(pattern) is None


def parser_for(pattern: str, timeout_ms: float) -> StreamParser:
    config = parse_config({"inputs": [{"id": "r", "paths": ["/x/*.log"], "format": "regex",
                                       "regex": {"pattern": pattern, "timeout_ms": timeout_ms}}]})
    context = StreamContext("r", "0" * 16, "/x/a.log", "utf-8", {"host.name": "h", "host.id": "i"})
    return StreamParser(config.inputs[0], context)


def test_a_runaway_match_is_stopped_and_the_line_flagged() -> None:
    # (a|aa)+ passes the static check (its branches overlap, which the check does not try to prove) but
    # backtracks exponentially on a long run of a's that does not end the way the pattern wants.
    parser = parser_for(r"^(?P<message>(a|aa)+)$", timeout_ms=50)
    hostile = b"a" * 5000 + b"!"
    events = parser.feed([RawRecord(0, len(hostile) + 1, hostile), RawRecord(len(hostile) + 1, len(hostile) + 6, b"aaaa")],
                         observed_ns=1_700_000_000_000_000_000)
    first, second = (orjson.loads(e.value) for e in events)
    assert first["parse_error"] is True
    assert "ran longer than 50 ms" in first["parse_error_reason"]
    assert first["body"] == hostile.decode()
    assert second["parse_error"] is False and second["body"] == "aaaa"
