"""Building and serialising unified events (schema v1).

Events are plain dicts with the keys of event-v1.schema.json: parsers on the hot path may build the dict
literally, as long as `check_event` accepts it. `new_event` is the readable way to build one.
"""

from typing import Any

import orjson

from schemas.ids import event_id as make_event_id
from schemas.timefmt import format_ns

SCHEMA_VERSION = 1

Event = dict[str, Any]


def new_event(
    *,
    stream: str,
    offset: int,
    timestamp_ns: int,
    observed_ns: int,
    body: str | dict[str, Any],
    resource: dict[str, Any],
    input_id: str,
    log_format: str,
    severity_text: str | None = None,
    severity_number: int = 0,
    attributes: dict[str, Any] | None = None,
    trace_id: str | None = None,
    span_id: str | None = None,
    parse_error: str | None = None,
    flags: list[str] | None = None,
) -> Event:
    """A unified event for the record starting at byte `offset` of stream `stream`.

    `parse_error` is the reason a parser could not understand the record; None when it could.
    """
    event: Event = {
        "schema_version": SCHEMA_VERSION,
        "event_id": make_event_id(stream, offset),
        "timestamp": format_ns(timestamp_ns),
        "observed_timestamp": format_ns(observed_ns),
        "severity_text": severity_text,
        "severity_number": severity_number,
        "body": body,
        "resource": resource,
        "attributes": attributes if attributes is not None else {},
        "format": log_format,
        "input_id": input_id,
        "parse_error": parse_error is not None,
    }
    if trace_id:
        event["trace_id"] = trace_id
    if span_id:
        event["span_id"] = span_id
    if parse_error is not None:
        event["parse_error_reason"] = parse_error
    if flags:
        event["flags"] = flags
    return event


def serialize(event: Event) -> bytes:
    """The event as compact JSON bytes (what goes into Kafka)."""
    return orjson.dumps(event)


def deserialize(data: bytes) -> Event:
    """The event in `data`; raises orjson.JSONDecodeError for bad JSON and TypeError when it is not an object."""
    value = orjson.loads(data)
    if not isinstance(value, dict):
        raise TypeError("an event must be a JSON object")
    return value
