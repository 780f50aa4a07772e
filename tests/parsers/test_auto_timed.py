"""auto looks once per line for a time of day (a `:` between digits) and does not offer a line without one to the
formats whose records declare that their lines always have one in its shape (Format.timed, shipper.parsers.declaration);
the text parser's first look is made from the same colon. These tests hold that the skip loses nothing: every declared
format refuses every line without such a colon in the shapes it declares (all golden inputs, the real-world corpus,
the adversarial pieces, and the timed golden lines with their colons replaced), the shapes are what the string-based
shape test found, and the first look answers what the scanner's own first look answered before it was split."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipper.parsers import auto
from shipper.parsers.auto import Prober, candidates, shape_of
from shipper.parsers.base import ParseEnv, Parser
from shipper.parsers.clock import Clock
from shipper.parsers.declaration import Format, Shape, candidates_by_shape
from shipper.parsers.layout.scan import FIRST_LOOK, HEAD, clock_colon, digits_may_hold_time, may_hold_time
from shipper.parsers.plain import PlainParser
from shipper.parsers.registry import FORMATS
from tests.hostile.adversarial import HEADS, PIECES
from tests.parsers.support import OBSERVED_NS, make_settings, split_records

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
_PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SHAPES = (
    Shape.OBJECT, Shape.ANGLE, Shape.HASH, Shape.BRACKET, Shape.DASHED_DATE, Shape.SLASHED_DATE, Shape.DIGITS, Shape.WORD,
    Shape.OTHER,
)
"""the order of auto's shape indexes; index 9 is a Go crash report's first line"""
# What auto tries for a line without a time of day, per shape: today's candidates less the timed formats
TIMELESS_EXPECTED = {
    Shape.OBJECT: ("json", "docker"),
    Shape.ANGLE: ("syslog",),
    Shape.HASH: ("iis",),
    Shape.BRACKET: (),
    Shape.DASHED_DATE: ("iis", "logfmt"),
    Shape.SLASHED_DATE: (),
    Shape.DIGITS: ("logfmt",),
    Shape.WORD: ("python", "logfmt"),
    Shape.OTHER: ("logfmt",),
}


def _golden_lines() -> list[str]:
    lines: list[str] = []
    for path in sorted(GOLDEN.rglob("*.log")):
        records, encoding = split_records(path.read_bytes(), "auto")
        lines.extend(record.data.decode(encoding, "replace") for record in records)
    return lines


GOLDEN_LINES = _golden_lines()
TIMED_LINES = [line for line in GOLDEN_LINES if clock_colon(line, 1, len(line)) != -1]


def _parsers() -> dict[str, Parser]:
    """One fresh parser per format auto tries, in a stream whose observed time makes the corpus's dates plausible."""
    clock = Clock("UTC")
    clock.set_observed(OBSERVED_NS)
    prober = Prober(ParseEnv(clock, make_settings("auto", {}), {"host.name": "test-host"}))
    return {declared.name: prober.parser(declared.name) for declared in FORMATS if declared.probes}


def _refusals(lines: list[str]) -> list[tuple[str, str]]:
    """(format, line) for each line without a time of day that a format declared timed in its shape accepts."""
    parsers = _parsers()
    wrong = []
    for line in lines:
        if clock_colon(line, 1, len(line)) != -1:
            continue
        index = shape_of(line)
        shape = SHAPES[index] if index < len(SHAPES) else None
        for declared in FORMATS:
            if shape in declared.timed and parsers[declared.name].parse(line) is not None:
                wrong.append((declared.name, line))
    return wrong


def _old_candidates(text: str) -> tuple[str, ...]:
    """auto.candidates as it was written with slices and str comparisons (before the shape index)."""
    first = text[:1]
    if first in " \t" and first:
        text = text.lstrip(" \t")
        first = text[:1]
    if first == "{":
        return auto.CANDIDATES[Shape.OBJECT]
    if first == "<":
        return auto.CANDIDATES[Shape.ANGLE]
    if first == "#":
        return auto.CANDIDATES[Shape.HASH]
    if first == "[":
        return auto.CANDIDATES[Shape.BRACKET]
    if "0" <= first <= "9":
        fifth = text[4:5]
        if fifth == "-":
            return auto.CANDIDATES[Shape.DASHED_DATE]
        if fifth == "/":
            return auto.CANDIDATES[Shape.SLASHED_DATE]
        return auto.CANDIDATES[Shape.DIGITS]
    if first.isalpha():
        if text.startswith(("panic: ", "fatal error: ")):
            return ("golog",)
        return auto.CANDIDATES[Shape.WORD]
    return auto.CANDIDATES[Shape.OTHER]


def _digit_at(text: str, index: int) -> bool:
    return 0 <= index < len(text) and "0" <= text[index] <= "9"


def _old_may_hold_time(text: str, reach: int) -> bool:
    """The scanner's first look as it was written before auto made its colon part once per line."""
    colon = text.find(":", 1, reach)
    while colon != -1:
        if _digit_at(text, colon - 1) and _digit_at(text, colon + 1):
            return True
        colon = text.find(":", colon + 1, reach)
    start = 0
    for _ in range(4):
        first = start if _digit_at(text, start) else start + 1
        if _digit_at(text, first) and all(_digit_at(text, first + offset) for offset in range(6)):
            return True
        space = text.find(" ", start, reach)
        if space == -1:
            break
        start = space + 1
    dot = text.find(".", 3, reach)
    return dot != -1 and text[dot - 3] == "-" and _digit_at(text, dot - 1) and _digit_at(text, dot + 1)


def test_the_corpus_holds_lines_of_every_timed_shape() -> None:
    """(the refusal tests below are only as good as the lines they read)"""
    shapes = {shape_of(line) for line in TIMED_LINES}
    for declared in FORMATS:
        for shape in declared.timed:
            assert SHAPES.index(shape) in shapes, (declared.name, shape)
    assert len(GOLDEN_LINES) > 900


def test_timed_formats_accept_no_corpus_line_without_a_time_of_day() -> None:
    assert _refusals(GOLDEN_LINES) == []


def test_timed_formats_accept_no_timed_line_whose_colons_are_replaced() -> None:
    """Every golden line with a time of day, its colons replaced by each of a few characters a time is written
    with otherwise (or none): no format declared timed in the line's shape takes it."""
    mutated = [line.replace(":", mark) for line in TIMED_LINES for mark in (".", "-", " ", "", "h", ",")]
    assert _refusals(mutated) == []


@_PROPERTY
@given(st.sampled_from(TIMED_LINES), st.lists(st.sampled_from(PIECES), max_size=6), st.integers(0, 80))
def test_timed_formats_accept_no_mutated_line_without_a_time_of_day(line: str, pieces: list[str], at: int) -> None:
    text = (line[:at] + "".join(pieces) + line[at:]).replace(":", ".")
    assert _refusals([text]) == []


def test_timed_formats_accept_no_adversarial_head_without_a_time_of_day() -> None:
    lines = [head.replace(":", "") + tail for heads in HEADS.values() for head in heads for tail in ("", " x", "x] y")]
    assert _refusals(lines) == []


def test_lines_without_a_time_of_day_are_offered_to_the_timeless_candidates_only() -> None:
    assert auto.TIMELESS == TIMELESS_EXPECTED
    assert candidates_by_shape(FORMATS, timeless=True) == auto.TIMELESS
    for shape, names in auto.CANDIDATES.items():
        assert set(auto.TIMELESS[shape]) <= set(names)  # and in the same order
        assert auto.TIMELESS[shape] == tuple(name for name in names if name in auto.TIMELESS[shape])


def test_a_record_may_not_declare_a_shape_timed_that_it_is_not_probed_for() -> None:
    with pytest.raises(ValueError, match="plain: timed in shapes it is not probed for: WORD"):
        Format(PlainParser, probes={Shape.DIGITS: 10}, timed=frozenset({Shape.WORD, Shape.DIGITS}))


@pytest.mark.parametrize("line", GOLDEN_LINES[::7])
def test_the_shape_index_picks_what_the_string_tests_picked(line: str) -> None:
    assert candidates(line) == _old_candidates(line)


@_PROPERTY
@given(st.text(st.sampled_from(" \t{<#[0123456789-/pfanic:etxé٣Ωµ_."), max_size=16))
def test_the_shape_index_picks_what_the_string_tests_picked_for_any_line(line: str) -> None:
    assert candidates(line) == _old_candidates(line)
    for head in ("panic: ", "fatal error: ", "panic:", "fatal"):
        assert candidates(head + line) == _old_candidates(head + line)


def _first_looks(text: str) -> None:
    size = len(text)
    old = _old_may_hold_time(text, min(size, HEAD) + 32)
    assert may_hold_time(text, min(size, HEAD) + 32) is old
    assert auto._head_may_hold_time(text, clock_colon(text, 1, size)) is old  # the prober's, from its one colon
    colon = clock_colon(text, 1, size)
    reference = next((i for i in range(1, size) if text[i] == ":" and _digit_at(text, i - 1) and _digit_at(text, i + 1)),
                     -1)
    assert colon == reference
    assert digits_may_hold_time(text, FIRST_LOOK) is _old_may_hold_time(text.replace(":", "\x00"), FIRST_LOOK)


@pytest.mark.parametrize("line", GOLDEN_LINES[::3])
def test_the_first_look_answers_as_before_on_the_corpus(line: str) -> None:
    _first_looks(line)


@_PROPERTY
@given(st.text(st.sampled_from("0123456789 :.-[Ta\u0661"), max_size=120))
def test_the_first_look_answers_as_before_for_any_line(text: str) -> None:
    _first_looks(text)


def test_a_line_without_a_time_goes_to_plain_without_the_text_parser_learning() -> None:
    clock = Clock("UTC")
    clock.set_observed(OBSERVED_NS)
    prober = Prober(ParseEnv(clock, make_settings("auto", {}), {"host.name": "test-host"}))
    assert prober.probe("worker 3: connection reset by peer") is None
    assert prober.text_parser().layouts == []
    found = prober.probe("worker 3: retry at 2024-05-01 02:00:01 after a reset")  # a time, not a format's: text
    assert found is not None and found[0].name == "text" and found[1]["timestamp"] == "2024-05-01T02:00:01.000000000Z"
    found = prober.probe("1714528801 worker 3 started")  # an epoch token, no colon: still the text parser's
    assert found is not None and found[0].name == "text" and found[1]["timestamp"].startswith("2024-05-01T02:00:01")
