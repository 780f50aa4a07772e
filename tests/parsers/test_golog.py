"""golog: the fast path (string operations after a cached date-time) gives the same events as the full pattern; level
words; Go panics with their goroutine traces as one event, in golog and in auto (issue #12)."""

import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.timefmt import format_ns
from schemas.validate import schema_errors
from shipper.parsers import golog
from shipper.parsers.auto import candidates
from shipper.parsers.base import ParseEnv
from shipper.parsers.clock import Clock
from shipper.parsers.golog import GoLogParser
from shipper.parsers.stacktrace import go_continues
from shipper.records import RawRecord
from tests.parsers.support import OBSERVED_NS, fast_and_pattern, make_parser, make_settings, parse_bytes, raw_text

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
_LINE = "2024/05/01 02:00:01.123456 /src/app/server.go:42: connection reset"
OBSERVED_ISO = format_ns(OBSERVED_NS)


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


# -- level words (issue #12, item 2) ----------------------------------------------------------------------------------

_LEVELS = {
    "TRACE": 1, "DEBUG": 5, "INFO": 9, "NOTICE": 10, "WARN": 13, "WARNING": 13, "ERROR": 17, "ERR": 17, "SEVERE": 17,
    "CRITICAL": 18, "CRIT": 18, "ALERT": 19, "FATAL": 21, "EMERG": 21, "PANIC": 21,
}
_REFERENCE_LEVEL = re.compile(r"(\[(?P<b>[^\]\s]+)\]|<(?P<a>[^>\s]+)>|(?P<w>[^\s\[<:]+)):? ")
"""the rule level_of implements, as a pattern: a first word, bare or in [] or <>, maybe a colon, then a space"""


def _reference_level(message: str) -> tuple[str, int]:
    match = _REFERENCE_LEVEL.match(message + " ")
    if match is None:
        return "", 0
    word = match["b"] or match["a"] or match["w"] or ""
    number = _LEVELS.get(word.upper(), 0)
    return (word, number) if number else ("", 0)


@pytest.mark.parametrize(("message", "level", "number"), [
    ("ERROR db timeout", "ERROR", 17),
    ("[ERROR] db timeout", "ERROR", 17),
    ("error: db timeout", "error", 17),
    ("[warn]: disk 91% full", "warn", 13),
    ("<Crit> fan stopped", "Crit", 18),
    ("Warning", "Warning", 13),
    ("eRRoR mixed case", "eRRoR", 17),
    *((f"{word} message", word, number) for word, number in _LEVELS.items()),
    *((f"{word.lower()}: message", word.lower(), number) for word, number in _LEVELS.items()),
    ("errors were found", "", 0),
    ("INFOx", "", 0),
    ("I think so", "", 0),
    ("[ERROR db timeout", "", 0),
    ("ERROR] db timeout", "", 0),
    ("[ERROR>", "", 0),
    ("connection reset by peer", "", 0),
    ("", "", 0),
    (" ERROR leading space", "", 0),
])
def test_a_message_starting_with_a_level_word_has_that_level(message: str, level: str, number: int) -> None:
    assert golog.level_of(message) == (level, number) == _reference_level(message)
    for line in (f"2026/03/14 10:00:02 worker.go:42: {message}", f"2026/03/14 10:00:02 {message}",
                 f"myapp: 2026/03/14 10:00:02.5 {message}"):
        fast, slow = _both(line)
        assert fast == slow, line
        assert fast is not None
        assert (fast["severity_text"], fast["severity_number"]) == (level or None, number), line
        assert fast["body"] == message  # the level word stays in the body (as Loki's detected_level keeps the line)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["ERROR", "warn", "Info", "[", "]", "<", ">", ":", " ", "x", "\t", "PANIC", "ä"]),
                max_size=8).map("".join))
def test_level_of_follows_its_rule(message: str) -> None:
    assert golog.level_of(message) == _reference_level(message)


def test_log_fatal_lines_have_no_level() -> None:
    """log.Fatal writes a plain line and exits: nothing in it says fatal."""
    events = _events("golog", "2026/03/14 10:00:02 main.go:20: open config.toml: no such file or directory\n")
    assert [(e["severity_text"], e["severity_number"]) for e in events] == [(None, 0)]


# -- Go panics and their goroutine traces (issue #12, item 3) ---------------------------------------------------------

_BEFORE = "2026/03/14 10:00:01.250000 server.go:31: INFO serving on :8080"
_AFTER = "2026/03/14 10:00:09 server.go:31: INFO serving on :8080"
_PANIC = """panic: runtime error: index out of range [5] with length 3

goroutine 1 [running]:
main.lookup(...)
\t/src/app/main.go:12
main.main()
\t/src/app/main.go:8 +0x1d
exit status 2"""
_GOROUTINES = """panic: send on closed channel

goroutine 7 [running]:
main.worker(0xc000012345, 0x3)
\t/src/app/worker.go:40 +0x6f
created by main.main in goroutine 1
\t/src/app/main.go:22 +0x85

goroutine 1 [chan receive]:
main.main()
\t/src/app/main.go:25 +0xb1

goroutine 18 [select, 2 minutes]:
net/http.(*persistConn).writeLoop(0xc0001b2000)
\t/usr/local/go/src/net/http/transport.go:2421 +0xe5
...additional frames elided...
created by net/http.(*Transport).dialConn in goroutine 5
\t/usr/local/go/src/net/http/transport.go:1777 +0x16f1"""
_NIL = """panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x48f4f6]

goroutine 1 [running]:
main.(*Server).handle(0x0, {0x5f6c20, 0xc0000a2000})
\t/src/app/server.go:51 +0x16
panic({0x4b2f80?, 0xc000012345?})
\t/usr/local/go/src/runtime/panic.go:770 +0x132"""
_DEADLOCK = """fatal error: all goroutines are asleep - deadlock!

goroutine 1 [chan receive]:
main.main()
\t/src/app/main.go:9 +0x2d
exit status 2"""
_NESTED = """panic: first [recovered]
\tpanic: second

goroutine 1 [running]:
main.main.func1()
\t/src/app/main.go:7 +0x5a
main.main()
\t/src/app/main.go:10 +0x2b"""


def _events(log_format: str, text: str, overrides: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    events = parse_bytes(text.encode(), make_settings(log_format, overrides))
    for event in events:
        assert schema_errors(event) == [], event
    assert "\n".join(raw_text(event) for event in events) == text.removesuffix("\n")  # every line, once, in order
    return events


def _only_panic(events: list[dict[str, Any]], report: str) -> dict[str, Any]:
    """The event of `report` among `events`, checked to be the report whole, as one unflagged golog event."""
    panics = [e for e in events if "exception.stacktrace" in e["attributes"]]
    assert len(panics) == 1, [e["body"] for e in events]
    event = panics[0]
    assert event["format"] == "golog" and event["parse_error"] is False and "flags" not in event
    assert event["attributes"]["exception.stacktrace"] == report
    assert event["body"] == report.partition("\n")[0]
    assert event["severity_number"] == 21
    return event


@pytest.mark.parametrize("log_format", ["golog", "auto"])
def test_a_panic_between_golog_lines_is_one_event_timed_as_the_line_before(log_format: str) -> None:
    events = _events(log_format, f"{_BEFORE}\n{_PANIC}\n{_AFTER}\n")
    assert [e["body"] for e in events] == ["INFO serving on :8080", _PANIC.partition("\n")[0], "INFO serving on :8080"]
    panic = _only_panic(events, _PANIC)
    assert panic["timestamp"] == events[0]["timestamp"] == "2026-03-14T14:00:01.250000000Z"  # America/New_York
    assert panic["severity_text"] == "panic"
    attributes = panic["attributes"]
    assert attributes["exception.type"] == "panic"
    assert attributes["exception.message"] == "runtime error: index out of range [5] with length 3"
    assert attributes["log.record.original"] == _PANIC
    assert events[2]["timestamp"] == "2026-03-14T14:00:09.000000000Z" and events[2]["severity_number"] == 9


@pytest.mark.parametrize("log_format", ["golog", "auto"])
@pytest.mark.parametrize("report", [_PANIC, _GOROUTINES, _NIL, _DEADLOCK, _NESTED],
                         ids=["index", "goroutines", "nil", "deadlock", "nested"])
def test_a_panic_with_no_golog_line_before_it_is_timed_when_observed(log_format: str, report: str) -> None:
    events = _events(log_format, report + "\n")
    assert len(events) == 1
    panic = _only_panic(events, report)
    assert panic["timestamp"] == OBSERVED_ISO
    assert "event.timezone" not in panic["attributes"]


def test_the_exception_is_named_as_the_runtime_names_it() -> None:
    nested = _only_panic(_events("golog", _NESTED), _NESTED)["attributes"]
    assert (nested["exception.type"], nested["exception.message"]) == ("panic", "first [recovered]")
    deadlock = _only_panic(_events("golog", _DEADLOCK), _DEADLOCK)
    assert deadlock["severity_text"] == "fatal"
    assert deadlock["attributes"]["exception.type"] == "fatal error"
    assert deadlock["attributes"]["exception.message"] == "all goroutines are asleep - deadlock!"


@pytest.mark.parametrize("log_format", ["golog", "auto"])
def test_a_panic_logged_on_a_golog_line_takes_the_trace_after_it(log_format: str) -> None:
    """`2026/03/14 10:00:02 panic: ...` (a recover handler logging the panic and debug.Stack()) then the trace."""
    trace = "goroutine 1 [running]:\nmain.main()\n\t/src/app/main.go:8 +0x1d"
    text = f"{_BEFORE}\n2026/03/14 10:00:02 main.go:30: panic: boom\n{trace}\n{_AFTER}\n"
    events = _events(log_format, text)
    assert len(events) == 3
    panic = _only_panic(events, f"panic: boom\n{trace}")
    assert panic["timestamp"] == "2026-03-14T14:00:02.000000000Z"
    assert panic["attributes"]["code.lineno"] == 30
    assert (panic["attributes"]["exception.type"], panic["attributes"]["exception.message"]) == ("panic", "boom")


@pytest.mark.parametrize("log_format", ["golog", "auto"])
def test_panics_one_after_another_are_one_event_each(log_format: str) -> None:
    events = _events(log_format, f"{_PANIC}\n{_DEADLOCK}\n{_BEFORE}\n{_NIL}\n")
    assert [e["body"] for e in events] == [
        _PANIC.partition("\n")[0], _DEADLOCK.partition("\n")[0], "INFO serving on :8080", _NIL.partition("\n")[0],
    ]
    assert events[3]["timestamp"] == events[2]["timestamp"]


def test_auto_finds_the_panic_whatever_the_stream_settled_on_before() -> None:
    """The `p` lines of the stream were logfmt, its other lines JSON and Python; the panic is still golog, and what
    follows the trace is read in its own format again."""
    text = "\n".join((
        "path=/health status=200 took=3ms",
        '{"level":"info","msg":"ready"}',
        "2026-03-14 10:00:00,123 - app - INFO - started",
        _GOROUTINES,
        "path=/health status=200 took=4ms",
        '{"level":"info","msg":"ready again"}',
    ))
    events = _events("auto", text)
    assert [e["format"] for e in events] == ["logfmt", "json", "python", "golog", "logfmt", "json"]
    _only_panic(events, _GOROUTINES)


def test_a_truncated_trace_at_the_end_of_the_file_goes_out_at_the_flush_timeout() -> None:
    for log_format in ("golog", "auto"):
        lines = (_BEFORE + "\n" + _PANIC.rsplit("\n", 3)[0]).split("\n")  # the report cut in its last frame
        records = [RawRecord(0, 0, b"")]
        records.clear()
        offset = 0
        for line in lines:
            data = line.encode()
            records.append(RawRecord(offset, offset + len(data) + 1, data))
            offset += len(data) + 1
        settings = make_settings(log_format, {"multiline": {"flush_timeout": 2.0}})
        parser = make_parser(settings)
        first = [orjson.loads(item.value) for item in parser.feed(records, OBSERVED_NS)]
        assert [e["body"] for e in first] == ["INFO serving on :8080"]
        assert parser.held_from() == records[1].offset
        assert parser.flush(OBSERVED_NS + 1_999_999_999, force=False) == []
        flushed = parser.flush(OBSERVED_NS + 2_000_000_000, force=False)
        assert parser.held_from() is None
        assert len(flushed) == 1 and (flushed[0].offset, flushed[0].end) == (records[1].offset, records[-1].end)
        event = orjson.loads(flushed[0].value)
        assert event["attributes"]["exception.stacktrace"] == "\n".join(lines[1:])
        assert event["parse_error"] is False and "flags" not in event
        # the fast path again after the held event: the next golog line is its own event at once
        after = parser.feed([RawRecord(offset, offset + len(_AFTER) + 1, _AFTER.encode())], OBSERVED_NS + 3_000_000_000)
        assert [orjson.loads(item.value)["body"] for item in after] == ["INFO serving on :8080"]
        assert parser.held_from() is None


def test_a_trace_longer_than_max_lines_is_cut_and_kept() -> None:
    events = _events("golog", _GOROUTINES + "\n" + _AFTER, {"multiline": {"max_lines": 5}})
    lines = _GOROUTINES.split("\n")
    assert events[0]["attributes"]["exception.stacktrace"] == "\n".join(lines[:5])
    assert events[0]["flags"] == ["multiline_truncated"]
    assert all("multiline_truncated" in e.get("flags", []) for e in events[1:-1])
    assert events[-1]["body"] == "INFO serving on :8080" and "flags" not in events[-1]


def test_a_panic_grouped_by_the_inputs_multiline_pattern_is_the_same_event() -> None:
    settings = {"multiline": {"mode": "start", "pattern": r"^(panic: |fatal error: |\d{4}/)"}}
    grouped = _events("golog", f"{_BEFORE}\n{_PANIC}\n{_AFTER}\n", settings)
    joined = _events("golog", f"{_BEFORE}\n{_PANIC}\n{_AFTER}\n")
    assert grouped == joined


def test_only_the_runtimes_own_spelling_starts_a_report() -> None:
    """`Panic: x` or `panic:x` is no crash report, nor is a golog line whose message only mentions a panic."""
    for line in ("2026/03/14 10:00:02 Panic: x", "2026/03/14 10:00:02 PANIC x", "2026/03/14 10:00:02 the panic: x"):
        fast, slow = _both(line)
        assert fast == slow and fast is not None and "_joins" not in fast and "exception.type" not in fast["attributes"]
    env = ParseEnv(Clock("UTC"), make_settings("golog"), {"host.name": "h", "host.id": "i"})
    assert GoLogParser(env).parse("panic:x") is None
    assert GoLogParser(env).parse("Panic: x") is None


@pytest.mark.parametrize("line", [
    "", "goroutine 1 [running]:", "goroutine 18 [select, 2 minutes]:", "main.main()", "main.lookup(...)",
    "panic({0x4b2f80?, 0xc000012345?})", "net/http.(*conn).serve.func1()", "main.Map[...]({0xc0000b6000, 0x3})",
    "\t/src/app/main.go:8 +0x1d", "\tpanic: second", "created by main.main in goroutine 1", "exit status 2",
    "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x48f4f6]", "...additional frames elided...",
    "runtime stack:", "SIGQUIT: quit", "PC=0x46e7a1 m=0 sigcode=0",
])
def test_go_trace_lines_continue_a_panic(line: str) -> None:
    assert go_continues(line)


@pytest.mark.parametrize("line", [
    '{"level":"info","msg":"f(x)"}', "level=info msg=done(ok)", "Starting server (pid 5)", "path=/x", "(x)",
    "Mar  4 10:00:00 host app: started", "2026-03-14 10:00:00,123 - app - INFO - started",
])
def test_other_lines_do_not_continue_a_panic(line: str) -> None:
    assert not go_continues(line)


def test_auto_tries_golog_first_for_a_crash_report_and_only_for_one() -> None:
    assert candidates("panic: boom") == candidates("fatal error: all goroutines are asleep - deadlock!") == ("golog",)
    for line in ("pid=5 msg=started", "fatal: could not read config", "panicked at 'boom'", "Mar  4 10:00:00 h a: x"):
        assert candidates(line) == candidates("x" + line[1:])  # what other word-led lines get is unchanged
