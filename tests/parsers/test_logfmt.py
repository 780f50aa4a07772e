"""The logfmt fast path (string searching) splits a line into the same pairs as the pattern whenever it answers."""

from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.parsers import logfmt
from shipper.parsers.base import ParseEnv
from shipper.parsers.clock import Clock
from shipper.parsers.logfmt import LogfmtParser
from tests.parsers.support import fast_and_pattern, make_settings, parse_bytes

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


# logfmt as its spec (issue #12, item 5): go-logfmt's decoder is the model

_ISSUE_LINE = 'time="2026-03-14T11:00:00Z" level=info msg="Stopping" component=fetcher cachehit'


def _parse(text: str) -> dict[str, object] | None:
    env = ParseEnv(Clock("UTC"), make_settings("logfmt"), {"host.name": "h", "host.id": "i"})
    fast, pattern = fast_and_pattern(logfmt, lambda: LogfmtParser(env), text)
    assert fast == pattern, text
    return fast


def test_a_bare_key_is_true_and_an_empty_value_is_an_empty_string() -> None:
    event = _parse('msg=hi k= q="" level=info bare other')
    assert event is not None
    assert event["attributes"] == {**event["attributes"], "k": "", "q": "", "bare": True, "other": True}
    assert event["body"] == "hi" and event["severity_number"] == 9


def test_a_repeated_key_takes_its_last_value() -> None:
    event = _parse("level=warn a=1 a=2 a=3 msg=first msg=last")
    assert event is not None
    assert event["attributes"]["a"] == "3" and event["body"] == "last"
    event = _parse("msg=x a=1 a a=")  # whatever the last occurrence is: a value, bare (true) or empty
    assert event is not None and event["attributes"]["a"] == ""
    event = _parse("msg=x a=1 a")
    assert event is not None and event["attributes"]["a"] is True


def test_a_quoted_key_is_refused() -> None:
    assert _parse('"quoted"=key msg=refused') is None
    assert _parse('"k"="v" a=1') is None


def test_the_issue_line_parses_as_logfmt() -> None:
    event = _parse(_ISSUE_LINE)
    assert event is not None
    assert event["timestamp"] == "2026-03-14T11:00:00.000000000Z"
    assert (event["severity_text"], event["severity_number"], event["body"]) == ("info", 9, "Stopping")
    assert event["attributes"]["cachehit"] is True and event["attributes"]["component"] == "fetcher"


def test_the_issue_line_is_logfmt_in_auto_after_plain_and_other_lines() -> None:
    """auto probes logfmt for lines starting with a letter; the bare key must not send the line to plain."""
    lines = ["just some words", "2026-03-14 10:00:00,123 - app - INFO - python first", _ISSUE_LINE, _ISSUE_LINE]
    events = parse_bytes("".join(f"{line}\n" for line in lines).encode(), make_settings("auto"))
    assert [event["format"] for event in events] == ["plain", "python", "logfmt", "logfmt"]
    for event in events[2:]:
        assert event["timestamp"] == "2026-03-14T11:00:00.000000000Z" and event["severity_number"] == 9
        assert event["body"] == "Stopping" and event["attributes"]["cachehit"] is True and event["parse_error"] is False


@pytest.mark.parametrize(("quoted", "value"), [
    ('\\"', '"'), ("\\\\", "\\"), ("\\/", "/"), ("\\n", "\n"), ("\\t", "\t"), ("\\r", "\r"), ("\\b", "\b"), ("\\f", "\f"),
    ("\\u00e9", "\u00e9"), ("\\u00E9", "\u00e9"), ("\\ud83d\\ude00", "\U0001f600"), ("\\uD83D\\uDE00", "\U0001f600"),
    ("\\ud800", "\ufffd"), ("\\ude00", "\ufffd"), ("\\ud83dx", "\ufffdx"), ("\\u12", "u12"), ("\\q", "q"),
    ("a\\u0041b", "aAb"),
])
def test_quoted_values_unescape_as_go_logfmt(quoted: str, value: str) -> None:
    event = _parse(f'level=info msg="{quoted}"')
    assert event is not None and event["body"] == value
    orjson.dumps(event)  # no lone surrogate: it must encode as UTF-8


def test_a_long_line_of_bare_keys_and_escapes_is_parsed_whole() -> None:
    """The shapes of the linearity tests (tests/hostile) parse to the right fields, not only in time."""
    event = _parse("a=1 b=2 " + "x " * 50_000)
    assert event is not None and event["body"] == {"a": "1", "b": "2", "x": True}
    event = _parse('a=1 msg="' + "\\u00e9" * 20_000 + '"')
    assert event is not None and event["body"] == "\u00e9" * 20_000
