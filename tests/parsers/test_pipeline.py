"""StreamParser behaviour: determinism across batches and restarts, held lines, flush timeout, failures, time."""

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.validate import schema_errors
from shipper.parsers.base import Event, Parser
from shipper.parsers.clock import Clock
from shipper.parsers.pipeline import StreamParser
from shipper.records import RawRecord
from tests.parsers.support import OBSERVED_NS, make_parser, make_settings, parse_bytes, parse_golden, split_records

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
JAVA = (GOLDEN / "java" / "log4j.log").read_bytes()


def _values(parser: StreamParser, records: list[RawRecord], observed: int = OBSERVED_NS) -> list[dict[str, Any]]:
    return [orjson.loads(e.value) for e in parser.feed(records, observed)]


@pytest.mark.parametrize("batch", [1, 2, 3, 7])
@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*/*.log")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_batch_boundaries_do_not_change_events(path: Path, batch: int) -> None:
    whole = parse_golden(path)
    from tests.parsers.support import parse_settings

    assert parse_bytes(path.read_bytes(), parse_settings(path), batch=batch, path=f"/logs/{path.name}") == whole


def test_restart_from_held_offset_gives_the_same_events() -> None:
    """Resuming at held_from() (where the checkpoint stopped) re-creates the held event with the same id and content."""
    settings = make_settings("java")
    records, _ = split_records(JAVA)
    first = make_parser(settings)
    done = _values(first, records[:5])  # stops inside the stack trace of the second event
    held = first.held_from()
    assert held == records[1].offset
    rest = _values(first, records[5:]) + [orjson.loads(e.value) for e in first.flush(OBSERVED_NS, force=True)]
    restarted = make_parser(settings)
    resumed = [r for r in records if r.offset >= held]
    again = _values(restarted, resumed) + [orjson.loads(e.value) for e in restarted.flush(OBSERVED_NS, force=True)]
    assert again == rest
    assert [e["event_id"] for e in done] == [f"0123456789abcdef{records[0].offset:016x}"]


def test_flush_timeout_emits_held_event_only_when_due() -> None:
    settings = make_settings("java", {"multiline": {"flush_timeout": 2.0}})
    parser = make_parser(settings)
    records, _ = split_records(b"2024-05-01 02:00:01,123 ERROR [main] a.B - boom\njava.lang.Error: x\n")
    assert parser.feed(records, OBSERVED_NS) == []
    assert parser.held_from() == 0
    assert parser.flush(OBSERVED_NS + 1_999_999_999, force=False) == []
    flushed = parser.flush(OBSERVED_NS + 2_000_000_000, force=False)
    assert len(flushed) == 1 and (flushed[0].offset, flushed[0].end) == (0, records[-1].end)
    assert parser.held_from() is None
    event = orjson.loads(flushed[0].value)
    assert event["attributes"]["exception.type"] == "java.lang.Error"


def test_partial_cri_records_are_held_until_the_final_piece() -> None:
    parser = make_parser(make_settings("cri"))
    records, _ = split_records(b"2024-05-01T02:00:01Z stdout P one \n2024-05-01T02:00:01Z stdout F two\n")
    assert parser.feed(records[:1], OBSERVED_NS) == []
    assert parser.held_from() == 0
    events = _values(parser, records[1:])
    assert [e["body"] for e in events] == ["one two"]
    assert parser.held_from() is None


class _Broken(Parser):
    name = "json"

    def parse(self, text: str) -> Event | None:
        raise RuntimeError("bug in a parser")


def test_a_parser_bug_becomes_a_flagged_event() -> None:
    parser = make_parser(make_settings("json"))
    parser._parser = _Broken(parser._parser.env)
    records, _ = split_records(b'{"msg":"x"}\n')
    events = _values(parser, records)
    assert len(events) == 1
    assert events[0]["parse_error"] is True
    assert "RuntimeError: bug in a parser" in events[0]["parse_error_reason"]
    assert events[0]["body"] == '{"msg":"x"}'
    assert schema_errors(events[0]) == []


def test_truncated_record_is_flagged() -> None:
    parser = make_parser(make_settings("auto"))
    events = _values(parser, [RawRecord(0, 5000, b'{"msg":"cut', truncated=True)])
    assert events[0]["flags"] == ["truncated"]
    assert events[0]["parse_error"] is True


@pytest.mark.parametrize(
    ("observed_month", "line_month", "year"),
    [(1, 12, 2023), (12, 1, 2025), (5, 5, 2024), (5, 6, 2024), (5, 7, 2023), (11, 3, 2024)],
)
def test_rfc3164_year_inference(observed_month: int, line_month: int, year: int) -> None:
    clock = Clock("UTC")
    clock.set_observed(int(__import__("calendar").timegm((2024, observed_month, 15, 12, 0, 0, 0, 0, 0))) * 1_000_000_000)
    assert clock.year_for(line_month) == year


def test_zone_less_time_uses_the_input_zone_and_says_so() -> None:
    settings = make_settings("golog", {"timezone": "Europe/Berlin"})
    events = parse_bytes(b"2024/01/15 12:00:00 winter\n2024/07/15 12:00:00 summer\n", settings)
    assert [e["timestamp"] for e in events] == ["2024-01-15T11:00:00.000000000Z", "2024-07-15T10:00:00.000000000Z"]
    assert {e["attributes"]["event.timezone"] for e in events} == {"Europe/Berlin"}


def test_observed_timestamp_is_always_set() -> None:
    events = parse_bytes(b"plain\n", make_settings("plain"))
    assert events[0]["observed_timestamp"] == "2024-05-01T02:00:05.123456789Z"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab[]: \t\u3000x1")), max_size=30))
def test_syslog_tag_split_agrees_with_its_pattern(message: str) -> None:
    from shipper.parsers.syslog import _TAG, _tag

    match = _TAG.fullmatch(message)
    expected = None if match is None else (match[1], match[2], match[3])
    found = _tag(message)
    assert (found and (found[0], found[1] or None, found[2])) == (expected and (expected[0], expected[1] or None, expected[2]))


@pytest.mark.parametrize("log_format", ["auto", "json", "logfmt"])
def test_record_keys_named_like_constant_attributes_appear_once(log_format: str) -> None:
    """The stream's constant attributes (config fields, file path and name, record offset) overwrite a record's own key
    of the same name in place, whether or not the pipeline splices them into the serialised event."""
    line = (
        b'{"msg":"m","env":"mine","a":1,"log.file.record_offset":-1}' if log_format != "logfmt"
        else b'msg=m env=mine a=1 log.file.record_offset=-1'
    )
    plain = b'{"msg":"m","a":1}' if log_format != "logfmt" else b"msg=m a=1"
    parser = make_parser(make_settings(log_format))
    records, _ = split_records(line + b"\n" + plain + b"\n")
    values = [e.value for e in parser.feed(records, OBSERVED_NS)]
    clashing, usual = (orjson.loads(value) for value in values)
    assert list(clashing["attributes"]) == ["env", "a", "log.file.record_offset", "log.record.original", "log.file.path",
                                            "log.file.name"]
    assert clashing["attributes"]["env"] == "test" and clashing["attributes"]["log.file.record_offset"] == 0
    assert values[0].count(b'"env"') == 1 and values[0].count(b'"log.file.record_offset"') == 1
    assert list(usual["attributes"])[-4:] == ["env", "log.file.path", "log.file.name", "log.file.record_offset"]
    assert usual["attributes"]["log.file.record_offset"] == records[1].offset
    for event in (clashing, usual):
        assert schema_errors(event) == []
