"""Every built-in parser is linear in the line (issue #11, Why 1 and 5): adversarial lines for every format parse in at
most 10 ms of CPU per KiB (50 ms at least), compiled and as plain Python; a parse stopped at its bound ships flagged.

The fixed cases (tests/hostile/adversarial.py) run in a child process with a deadline, so a parser that hangs fails
the test with the case's name instead of hanging the run; on the code before this change the X-Forwarded-For line
(exponential) and the logfmt bare keys (quadratic) fail it, as do long Java exception names in a stack trace.
"""

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipper.parsers import bounded, java
from tests.hostile.adversarial import (
    FORMATS,
    HEADS,
    PIECES,
    TAILS,
    XFF_LINE,
    check_events,
    limit_seconds,
    logfmt_line,
    parse_seconds,
    size_of,
)

ROOT = Path(__file__).resolve().parents[2]
CHILD_DEADLINE_S = 600


@pytest.mark.parametrize("build", ["compiled", "pure"])
def test_fixed_adversarial_lines_parse_in_linear_time(build: str) -> None:
    env = {**os.environ, "LOGFERRY_PURE_PYTHON": "1" if build == "pure" else ""}
    try:
        done = subprocess.run(
            [sys.executable, "-W", "ignore", "-m", "tests.hostile.adversarial", "32768"],
            cwd=ROOT, env=env, capture_output=True, timeout=CHILD_DEADLINE_S, check=False,
        )
    except subprocess.TimeoutExpired as expired:
        output = (expired.stdout or b"").decode(errors="replace").splitlines()
        last = next((orjson.loads(line)["start"] for line in reversed(output) if line.startswith('{"start"')), None)
        pytest.fail(f"the adversarial cases did not finish within {CHILD_DEADLINE_S} s; hung on {last!r}")
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    results = [orjson.loads(line) for line in done.stdout.splitlines() if line.startswith(b'{"case"')]
    assert len(results) > 5000  # every case ran
    slow = [r for r in results if r["seconds"] > limit_seconds(r["bytes"])]
    assert slow == [], f"{len(slow)} case(s) over 10 ms per KiB, e.g. {slow[:5]}"


def test_the_issue_lines_parse_in_linear_time() -> None:
    """The two lines of the issue, in this process (the mode the suite runs in)."""
    for log_format, line in (("nginx", XFF_LINE), ("auto", XFF_LINE), ("logfmt", logfmt_line(320_000)),
                             ("auto", logfmt_line(320_000))):
        seconds, events = parse_seconds(log_format, (line,))
        assert seconds <= limit_seconds(size_of((line,))), (log_format, len(line), seconds)
        check_events((line,), events)
    seconds, events = parse_seconds("nginx", (XFF_LINE,))
    assert events[0]["parse_error"] is False
    assert events[0]["attributes"]["log.extra_fields"] == ["a::1," * 40 + "!"]  # not an address list: an extra field
    _, events = parse_seconds("logfmt", (logfmt_line(320_000),))
    assert events[0]["format"] == "logfmt" and events[0]["body"] == {"a": "1", "b": "2", "x": True}


_ATOMS = st.sampled_from(PIECES) | st.text(alphabet=st.sampled_from(list(' \t=[]"\\:,./-{}<>0a')), min_size=1, max_size=6)


@st.composite
def _adversarial(draw: st.DrawFn) -> tuple[str, tuple[str, ...]]:
    log_format = draw(st.sampled_from(FORMATS))
    head = draw(st.sampled_from(HEADS[log_format]))
    atoms = draw(st.lists(_ATOMS, min_size=1, max_size=3))
    unit = "".join(atoms)
    target = draw(st.sampled_from([512, 4096, 32768]))  # characters: the `re` path and the guarded one
    count = max(1, target // len(unit)) + draw(st.integers(0, 16))
    nested = draw(st.integers(0, 3))
    middle = unit * count
    for _ in range(nested):  # nested lists and brackets: [[a,[a,...]]]
        middle = draw(st.sampled_from(["[", "{", '"', "("])) + middle + draw(st.sampled_from(["]", "}", '"', ")", ""]))
    return log_format, (head + middle + draw(st.sampled_from(TAILS)),)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(_adversarial())
def test_generated_adversarial_lines_parse_in_linear_time(case: tuple[str, tuple[str, ...]]) -> None:
    log_format, lines = case
    seconds, events = parse_seconds(log_format, lines)
    assert seconds <= limit_seconds(size_of(lines)), (log_format, size_of(lines), seconds)
    check_events(lines, events)


def test_a_parse_stopped_at_its_bound_ships_flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    """A built-in pattern that runs away on a long line (here a deliberately catastrophic one in the java parser's
    place) is stopped at its bound; the line ships as a parse error flagged parse_timeout, and the next line parses."""
    runaway_first = r"(?:\d|\d\d|\d\d\d)+x|"  # exponential on a run of digits without an x
    monkeypatch.setattr(java, "_LINE", bounded.Bounded(runaway_first + java._LINE.pattern.pattern))
    runaway = "1" * bounded.GUARDED_FROM + "!"
    lines = (runaway, "2024-05-01 02:00:01,123 INFO [main] a.B - fine")
    _, events = parse_seconds("java", lines)
    assert events[0]["parse_error"] is True and "parse_timeout" in events[0]["flags"]
    assert "longer than its bound" in events[0]["parse_error_reason"]
    assert events[0]["body"] == runaway
    assert len(events) == 2 and events[1]["body"] == "fine" and events[1]["parse_error"] is False


def test_the_bound_grows_with_the_line() -> None:
    assert bounded.timeout_for(0) == bounded.FLOOR_S
    assert bounded.timeout_for(1 << 20) == pytest.approx(bounded.FLOOR_S + 1024 * bounded.PER_KIB_S)
    assert bounded.timeout_for(1 << 20) < limit_seconds(1 << 20) / 8  # a dozen calls stay near the test's bound


def test_a_multiline_pattern_that_runs_away_on_a_long_line_is_stopped() -> None:
    """The input's own multiline pattern runs per line too, bounded the same way."""
    from shipper.config import InputSettings, MultilineSettings
    from shipper.parsers.pipeline import StreamParser
    from shipper.records import StreamContext
    from tests.hostile.adversarial import OBSERVED_NS, records

    multiline = MultilineSettings(mode="start", pattern=r"^(?:\d|\d\d|\d\d\d)+x|^START")
    settings = InputSettings(id="m", paths=["/logs/*.log"], format="plain", timezone="UTC", multiline=multiline)
    context = StreamContext("m", "0123456789abcdef", "/logs/a.log", "utf-8", {"host.id": "h"}, {})
    parser = StreamParser(settings, context)
    runaway = "1" * bounded.GUARDED_FROM + "!"
    lines = ("START one", "more of one", runaway, "START two")
    encoded = parser.feed(records(lines), OBSERVED_NS) + parser.flush(OBSERVED_NS, force=True)
    events = [orjson.loads(item.value) for item in encoded]
    assert [e["body"] for e in events] == ["START one\nmore of one", runaway, "START two"]
    assert events[1]["parse_error"] is True and "parse_timeout" in events[1]["flags"]
    assert not events[0]["parse_error"] and not events[2]["parse_error"]
