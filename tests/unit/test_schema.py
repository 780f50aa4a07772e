"""The unified event schema v1: what it accepts, what it rejects, and the helpers that build events."""

import copy

import orjson
import pytest

from schemas import (
    event_id,
    format_ns,
    new_event,
    parse_rfc3339_ns,
    serialize,
    severity_from_python,
    severity_from_syslog,
    severity_from_text,
    severity_from_windows,
    stream_id,
)
from schemas.ids import split_event_id
from schemas.validate import check_event, schema_errors

RESOURCE = {"service.name": "checkout", "host.name": "web-1", "host.id": "0f3c"}


def full_event() -> dict[str, object]:
    """An event that uses every field group of the schema."""
    event = new_event(
        stream=stream_id("0f3c", "dev:2049/ino:131", 0),
        offset=4096,
        timestamp_ns=1_714_528_801_123_456_789,
        observed_ns=1_714_528_802_000_000_001,
        body="payment failed",
        resource=RESOURCE,
        input_id="app",
        log_format="java",
        severity_text="ERROR",
        severity_number=severity_from_text("ERROR"),
        trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
        span_id="00f067aa0ba902b7",
        attributes={
            "log.file.path": "/var/log/app/app.log",
            "log.file.name": "app.log",
            "log.file.record_offset": 4096,
            "log.iostream": "stderr",
            "log.record.original": "2024-05-01 02:00:01,123 ERROR payment failed",
            "exception.type": "java.lang.IllegalStateException",
            "exception.message": "card declined",
            "exception.stacktrace": "java.lang.IllegalStateException: card declined\n\tat A.b(A.java:1)",
            "event.timezone": "Europe/Berlin",
        },
        parse_error="timestamp had no zone",
        flags=["truncated", "encoding_replaced"],
    )
    return event


def test_full_event_conforms() -> None:
    event = full_event()
    assert schema_errors(event) == []
    assert check_event(event) is None


def test_structured_body_conforms() -> None:
    event = full_event()
    event["body"] = {"msg": "hello", "nested": {"a": [1, 2]}}
    assert schema_errors(event) == []


def test_minimal_event_conforms() -> None:
    event = new_event(
        stream="a" * 16, offset=0, timestamp_ns=0, observed_ns=0, body="x",
        resource={"host.name": "h", "host.id": "i"}, input_id="in", log_format="plain",
    )
    assert schema_errors(event) == []
    assert event["parse_error"] is False and "parse_error_reason" not in event


@pytest.mark.parametrize("missing", ["event_id", "timestamp"])
def test_event_without_required_field_is_rejected(missing: str) -> None:
    event = full_event()
    del event[missing]
    assert any(missing in error for error in schema_errors(event))
    assert check_event(event) == f"the event has no {missing}"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("event_id", "XYZ"),
        ("timestamp", "2024-05-01T02:00:01Z"),
        ("severity_number", 25),
        ("body", 3),
        ("trace_id", "abc"),
        ("schema_version", 2),
        ("unknown_top_level", 1),
    ],
)
def test_bad_values_are_rejected(key: str, value: object) -> None:
    event = full_event()
    event[key] = value
    assert schema_errors(event)


def test_parse_error_needs_a_reason() -> None:
    event = full_event()
    del event["parse_error_reason"]
    assert schema_errors(event)


def test_event_round_trips_through_json() -> None:
    event = full_event()
    assert orjson.loads(serialize(event)) == event


def test_event_id_is_deterministic_and_keeps_offset() -> None:
    first = stream_id("host-a", "dev:1/ino:2", 0)
    assert first == stream_id("host-a", "dev:1/ino:2", 0)
    assert first != stream_id("host-b", "dev:1/ino:2", 0)
    assert first != stream_id("host-a", "dev:1/ino:3", 0)
    assert first != stream_id("host-a", "dev:1/ino:2", 1)
    value = event_id(first, 123456)
    assert len(value) == 32 and int(value, 16) >= 0
    assert split_event_id(value) == (first, 123456)
    # Neighbouring records of one file get neighbouring ids.
    assert event_id(first, 100) < event_id(first, 101)


def test_format_ns_keeps_nanoseconds() -> None:
    assert format_ns(1_714_528_801_123_456_789) == "2024-05-01T02:00:01.123456789Z"
    assert format_ns(0) == "1970-01-01T00:00:00.000000000Z"
    assert parse_rfc3339_ns("2024-05-01T02:00:01.123456789Z") == 1_714_528_801_123_456_789
    assert parse_rfc3339_ns("2024-05-01T04:00:01.5+02:00") == 1_714_528_801_500_000_000
    with pytest.raises(ValueError):
        parse_rfc3339_ns("yesterday")


@pytest.mark.parametrize(
    ("word", "number"),
    [("TRACE", 1), ("debug", 5), ("INFO", 9), ("Information", 9), ("NOTICE", 10), ("warn", 13), ("WARNING", 13),
     ("ERROR", 17), ("err", 17), ("CRIT", 18), ("CRITICAL", 18), ("ALERT", 19), ("EMERG", 21), ("FATAL", 21),
     ("nonsense", 0), (None, 0), ("", 0)],
)
def test_severity_words(word: str | None, number: int) -> None:
    assert severity_from_text(word) == number


def test_severity_numeric_tables() -> None:
    assert [severity_from_syslog(i) for i in range(8)] == [21, 19, 18, 17, 13, 10, 9, 5]
    assert severity_from_syslog(9) == 0
    assert [severity_from_python(n) for n in (10, 20, 30, 40, 50, 25)] == [5, 9, 13, 17, 21, 9]
    assert [severity_from_windows(n) for n in (1, 2, 3, 4, 5)] == [18, 17, 13, 9, 5]


def test_schema_rejects_nothing_it_documents() -> None:
    # Every attribute the README maps must be declared in the schema file.
    from schemas.validate import schema

    declared = set(schema()["properties"]["attributes"]["properties"])
    assert {"log.file.path", "log.file.name", "log.file.record_offset", "log.iostream", "log.record.original",
            "exception.type", "exception.message", "exception.stacktrace", "event.timezone"} <= declared
    event = copy.deepcopy(full_event())
    event["attributes"]["log.file.record_offset"] = -1  # type: ignore[index]
    assert schema_errors(event)
