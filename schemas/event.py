"""Building and serialising unified events (schema v1).

Events are plain dicts with the keys of event-v1.schema.json. `new_event` is the readable way to build one
from typed values (tests, benchmarks). `reference_event` and `reference_failure` build, in plain code, the event
the shipper sends for what a parser returned: the reference the shipper's encoder (shipper.parsers.encoder,
spliced bytes for speed) is held equal to, byte for byte, by tests/parsers/test_encoder.py.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Final

import orjson

from schemas.ids import event_id as make_event_id
from schemas.timefmt import format_ns

SCHEMA_VERSION: Final = 1
RECORD_OFFSET: Final = "log.file.record_offset"
ORIGINAL: Final = "log.record.original"
REASON_LIMIT: Final = 512
"""Characters of parse_error_reason an event keeps."""

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


def reference_event(
    parsed: Mapping[str, Any],
    *,
    stream: str,
    offset: int,
    input_id: str,
    log_format: str,
    observed_timestamp: str,
    resource: Any,
    path: str,
    fields: Mapping[str, Any],
    flags: Sequence[str] = (),
    parse_error: str | None = None,
) -> Event:
    """The event for the record at byte `offset` of stream `stream`, whose parser returned `parsed` (its fields:
    timestamp, severity, body, attributes, maybe trace_id, span_id, resource, flags), read from the file at `path` by
    the input `input_id` with the static attributes `fields`, in the batch observed at `observed_timestamp`.

    `flags` are the pipeline's (truncated, encoding_replaced, ...); `parse_error` the reason for a failure event.
    `parsed` is not changed. The key order is the wire's (serialize() of the result is what Kafka gets): the fields
    that do not depend on the line, then the parsed ones in the parser's order, then the reason, then flags.
    """
    event: Event = {
        "event_id": make_event_id(stream, offset),
        "schema_version": SCHEMA_VERSION,
        "format": log_format,
        "input_id": input_id,
        "parse_error": parse_error is not None,
        "observed_timestamp": observed_timestamp,
    }
    if "resource" not in parsed:
        event["resource"] = resource  # else the parser's own, in its place among the parsed fields
    for key, value in parsed.items():
        event[key] = value
    # the file's attributes after the parser's; a parser's key of the same name keeps its place, with the file's value
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    event["attributes"] = {
        **parsed["attributes"], **fields, "log.file.path": path, "log.file.name": name, RECORD_OFFSET: offset,
    }
    if parse_error is not None:
        event["parse_error_reason"] = (parse_error or "unparsable")[:REASON_LIMIT]
    if flags:
        # the parser's flags first, then the pipeline's, each once; in the place of the parser's flags if it set any
        event["flags"] = list(dict.fromkeys([*parsed.get("flags", ()), *flags]))
    return event


def reference_failure(
    text: str,
    *,
    reason: str,
    stream: str,
    offset: int,
    input_id: str,
    log_format: str,
    observed_timestamp: str,
    resource: Any,
    path: str,
    fields: Mapping[str, Any],
    flags: Sequence[str] = (),
) -> Event:
    """The event for `text` that no parser understood (or whose parser failed, `reason` saying why): the raw text as
    body and as the original, timed at the observed time, no severity."""
    parsed = {
        "timestamp": observed_timestamp,
        "severity_text": None,
        "severity_number": 0,
        "body": text,
        "attributes": {ORIGINAL: text},
    }
    return reference_event(
        parsed, stream=stream, offset=offset, input_id=input_id, log_format=log_format,
        observed_timestamp=observed_timestamp, resource=resource, path=path, fields=fields, flags=flags,
        parse_error=reason,
    )


def serialize(event: Event) -> bytes:
    """The event as compact JSON bytes (what goes into Kafka)."""
    return orjson.dumps(event)


def deserialize(data: bytes) -> Event:
    """The event in `data`; raises orjson.JSONDecodeError for bad JSON and TypeError when it is not an object."""
    value = orjson.loads(data)
    if not isinstance(value, dict):
        raise TypeError("an event must be a JSON object")
    return value
