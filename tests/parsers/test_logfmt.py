"""The logfmt fast path (string searching) splits a line into the same pairs as the pattern whenever it answers."""

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.parsers import logfmt
from shipper.parsers.base import ParseEnv
from shipper.parsers.clock import Clock
from shipper.parsers.logfmt import LogfmtParser
from tests.parsers.support import fast_and_pattern, make_settings

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
_LINE = 'time=2024-05-01T02:00:01.123456Z level=info msg="cache worker timeout" component=scheduler attempt=3'


def _agree(text: str) -> None:
    fast = logfmt._pairs(text)
    if fast is not None:
        assert fast == logfmt._pattern_pairs(text), text
    env = ParseEnv(Clock("UTC"), make_settings("logfmt"), {"host.name": "h", "host.id": "i"})
    fast, pattern = fast_and_pattern(logfmt, lambda: LogfmtParser(env), text)
    assert fast == pattern, text


def test_fast_path_takes_the_usual_lines() -> None:
    assert logfmt._pairs(_LINE) == [
        ("time", "", "2024-05-01T02:00:01.123456Z", True), ("level", "", "info", True),
        ("msg", "cache worker timeout", "", True), ("component", "", "scheduler", True), ("attempt", "", "3", True),
    ]
    assert logfmt._pairs('a="x\\"y"') is None  # escapes: the pattern decides
    assert logfmt._pairs("a=1\tb=2") is None  # other whitespace: the pattern decides


def test_fast_path_agrees_on_the_golden_lines() -> None:
    for line in (GOLDEN / "logfmt" / "pairs.log").read_text(encoding="utf-8").splitlines():
        _agree(line)


_PIECES = st.sampled_from([" ", "=", '"', "a", "key", "v1", "\t", "\u3000", "\u00e9", "\\", '""', "==", 'k="x y"', "k="])


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES, max_size=25).map("".join), st.integers(0, 100))
def test_fast_path_never_disagrees(noise: str, position: int) -> None:
    for text in (noise, _LINE + noise, noise + _LINE, _LINE[:position] + noise + _LINE[position:]):
        _agree(text)
