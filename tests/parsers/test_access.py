"""The access-log fast path (string splitting) gives the same events as the full pattern whenever it accepts a line."""

from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.parsers import access
from shipper.parsers.access import AccessLogParser
from shipper.parsers.base import ParseEnv
from shipper.parsers.clock import Clock
from tests.parsers.support import fast_and_pattern, make_settings

GOLDEN = Path(__file__).resolve().parent.parent / "golden"


def _both(text: str) -> tuple[Any, Any]:
    env = ParseEnv(Clock("UTC"), make_settings("nginx"), {"host.name": "h", "host.id": "i"})
    return fast_and_pattern(access, lambda: AccessLogParser(env), text)


def test_fast_path_takes_the_usual_lines() -> None:
    line = '10.0.0.1 - - [01/May/2024:02:00:01 +0000] "GET /a HTTP/1.1" 200 5 "-" "curl/8.5.0"'
    expected = ("10.0.0.1", "-", "-", "01/May/2024:02:00:01 +0000", "GET /a HTTP/1.1", "200", "5", "-", "curl/8.5.0", "")
    assert access._split_line(line) == expected


def test_fast_path_agrees_on_the_golden_lines() -> None:
    for folder in ("nginx", "apache"):
        for line in (GOLDEN / folder / "access.log").read_text().splitlines():
            fast, slow = _both(line)
            assert fast == slow, line


_PIECES = st.sampled_from(
    ['"', " ", "-", "[", "]", "\\", "200", "GET / HTTP/1.1", "01/May/2024:02:00:01 +0000", "x", "\t", "\u3000", "\u0662"]
)
_LINES = st.sampled_from([
    '1.2.3.4 - - [01/May/2024:02:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "ua"',
    '1.2.3.4 - u [01/May/2024:02:00:01 +0000] "" 400 - ',
])


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=25).map("".join), _LINES, st.integers(0, 80))
def test_fast_path_never_disagrees(noise: str, line: str, position: int) -> None:
    for text in (line + noise, noise + line, line[:position] + noise + line[position:]):
        fast, slow = _both(text)
        assert fast == slow, text
