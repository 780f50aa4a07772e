"""The built-in patterns answer the same on `re` (short lines) and on the regex module (long lines, with a timeout):
the same line parses the same whatever its length (shipper.parsers.bounded), \\s and \\w included (spelled out for
the regex module, whose own \\s leaves out U+001C-U+001F and whose \\w takes combining marks)."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.parsers import (
    access,
    apache_error,
    bounded,
    clock,
    cri,
    golog,
    java,
    logfmt,
    python_logging,
    stacktrace,
    syslog,
)

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
MODULES = (access, apache_error, clock, cri, golog, java, logfmt, python_logging, stacktrace, syslog)
PATTERNS = [
    (f"{module.__name__.rsplit('.', 1)[1]}.{name}", value)
    for module in MODULES
    for name, value in vars(module).items()
    if isinstance(value, bounded.Bounded)
] + [(f"python_logging._FORMATS[{i}]", p) for i, p in enumerate(python_logging._FORMATS)]
LINES = sorted({
    line for path in GOLDEN.glob("*/*.log") for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
})[::3]
PADS = ("", " " * 5000, "x" * 5000, "a=b " * 1300, '"' + "\\\"" * 2500 + '"', " at a.B(C.java:1)" * 300)


FINDALL = ("access._EXTRA", "logfmt._PAIR", "syslog._SD_ELEMENT", "syslog._SD_PARAM")
"""the patterns the parsers run findall / finditer with (the others: match and fullmatch)"""


def _same(name: str, pattern: bounded.Bounded, text: str) -> None:
    for method in ("match", "fullmatch"):
        fast = getattr(pattern.pattern, method)(text)
        guarded = getattr(pattern.guarded, method)(text)
        assert (fast is None) == (guarded is None), (method, text[:200])
        if fast is not None:
            assert fast.span() == guarded.span() and fast.groups() == guarded.groups(), (method, text[:200])
    if name in FINDALL:
        assert pattern.pattern.findall(text) == pattern.guarded.findall(text), text[:200]


_ASSIGNED = st.characters(exclude_categories=("Cn", "Cs"))
"""characters Python's Unicode tables assign (the regex module's newer tables may read later ones differently)"""


def test_every_parser_module_pattern_is_bounded() -> None:
    assert len(PATTERNS) >= 20


@pytest.mark.parametrize(("name", "pattern"), PATTERNS, ids=[name for name, _ in PATTERNS])
def test_re_and_the_regex_module_agree_on_the_golden_lines(name: str, pattern: bounded.Bounded) -> None:
    for line in LINES:
        for pad in PADS:
            _same(name, pattern, line + pad)
            _same(name, pattern, pad + line)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PATTERNS), st.sampled_from(LINES), st.text(_ASSIGNED, max_size=40), st.integers(0, 200))
def test_re_and_the_regex_module_agree_on_mangled_lines(named: tuple[str, bounded.Bounded], line: str, noise: str,
                                                        position: int) -> None:
    name, pattern = named
    _same(name, pattern, line[:position] + noise + line[position:])


def test_long_lines_take_the_guarded_pattern_and_parse_the_same() -> None:
    line = '10.0.0.1 - - [01/May/2024:02:00:01 +0000] "GET /a HTTP/1.1" 200 5 "-" "curl/8.5.0" "1.2.3.4, 5.6.7.8"'
    long_line = line + ' "' + "y" * bounded.GUARDED_FROM + '"'
    assert access._LINE.match(long_line)[0] == long_line
    assert access._address_list("1.2.3.4, 5.6.7.8") and not access._address_list("a::1," * 40 + "!")
