"""The golog fast path (string operations after a cached date-time) gives the same events as the full pattern."""

from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.parsers import golog
from shipper.parsers.base import ParseEnv
from shipper.parsers.clock import Clock
from shipper.parsers.golog import GoLogParser
from tests.parsers.support import fast_and_pattern, make_settings

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
_LINE = "2024/05/01 02:00:01.123456 /src/app/server.go:42: connection reset"


def _both(text: str) -> tuple[Any, Any]:
    """(fast, pattern) events for `text`; the fast parser has seen the line's date-time before, as it would mid-file."""
    env = ParseEnv(Clock("UTC"), make_settings("golog"), {"host.name": "h", "host.id": "i"})
    return fast_and_pattern(golog, lambda: GoLogParser(env), text, warm=(text, _LINE))


def test_fast_path_takes_the_usual_lines() -> None:
    assert golog._split_line(_LINE) == ("123456", "/src/app/server.go", "42", "connection reset")
    assert golog._split_line("2024/05/01 02:00:01 no file here") == ("", None, None, "no file here")


def test_fast_path_agrees_on_the_golden_lines() -> None:
    for line in (GOLDEN / "golog" / "std.log").read_text().splitlines():
        fast, slow = _both(line)
        assert fast == slow, line


_PIECES = st.sampled_from(
    [" ", ":", ".", "/", ".go", "12", "x", "\t", "\u3000", "\u0662", "\u00b2", "C:", "0123456789", "a.go:1: ", ": "]
)
_LINES = st.sampled_from([_LINE, "2024/05/01 02:00:01 C:/src/main.go:7: hi", "2024/05/01 02:00:01.5 msg"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=20).map("".join), _LINES, st.integers(0, 70))
def test_fast_path_never_disagrees(noise: str, line: str, position: int) -> None:
    for text in (line + noise, noise + line, line[:position] + noise + line[position:]):
        fast, slow = _both(text)
        assert fast == slow, text
