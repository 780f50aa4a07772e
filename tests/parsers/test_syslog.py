"""The RFC 3164 fast path (string operations after a cached timestamp) gives the same events as the full pattern."""

from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.parsers import syslog
from shipper.parsers.base import ParseEnv
from shipper.parsers.clock import Clock
from shipper.parsers.syslog import SyslogParser
from tests.parsers.support import OBSERVED_NS, fast_and_pattern, make_settings

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
_LINE = "<13>May  1 02:00:01 web-3 sshd[1234]: session opened"


def _both(text: str) -> tuple[Any, Any]:
    """(fast, pattern) events for `text`; the fast parser has seen the line's timestamp before, as it would mid-file."""
    clock = Clock("Europe/Paris")
    clock.set_observed(OBSERVED_NS)
    env = ParseEnv(clock, make_settings("syslog"), {"host.name": "h", "host.id": "i"})
    return fast_and_pattern(syslog, lambda: SyslogParser(env), text, warm=(text, _LINE))


def test_fast_path_takes_the_usual_lines() -> None:
    assert syslog._split_bsd(_LINE) == ("13", 4, "", "web-3 sshd[1234]: session opened")
    assert syslog._split_bsd("May 11 02:00:01.25 host x: y") == (None, 0, "25", "host x: y")
    assert syslog._split_bsd("<34>1 2024-05-01T02:00:01Z host app - - - m") is None


def test_fast_path_agrees_on_the_golden_lines() -> None:
    for path in sorted((GOLDEN / "syslog").glob("*.log")):
        for line in path.read_text(encoding="utf-8").splitlines():
            fast, slow = _both(line)
            assert fast == slow, line


_PIECES = st.sampled_from(
    [" ", ":", ".", "[", "]", "<", ">", "1", "999", "x", "\t", "\u3000", "\u0662", "\u00b2", "host", "app[1]: ", ": "]
)
_LINES = st.sampled_from([_LINE, "May 11 02:00:01.123 host app: hi", "<191>Dec 31 23:59:59 h a[]: m", "<13>May  1 02:00:01 x"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=20).map("".join), _LINES, st.integers(0, 50))
def test_fast_path_never_disagrees(noise: str, line: str, position: int) -> None:
    for text in (line + noise, noise + line, line[:position] + noise + line[position:]):
        fast, slow = _both(text)
        assert fast == slow, text
