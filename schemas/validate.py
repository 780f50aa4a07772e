"""Checking events against the unified schema.

`check_event` is a dependency-free check of what the consumer relies on, cheap enough for every event.
`schema_errors` runs the full JSON Schema (needs the `jsonschema` package, part of the test extra).
"""

import re
from functools import cache
from importlib import resources
from typing import Any

import orjson

_REQUIRED = (
    "schema_version", "event_id", "timestamp", "observed_timestamp", "severity_number",
    "body", "resource", "attributes", "format", "input_id", "parse_error",
)
_EVENT_ID = re.compile(r"[0-9a-f]{32}")
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z")


def check_event(event: Any) -> str | None:
    """None if `event` has what the consumer relies on, else a sentence saying what is wrong."""
    if not isinstance(event, dict):
        return "the event is not a JSON object"
    for key in _REQUIRED:
        if key not in event:
            return f"the event has no {key}"
    if event["schema_version"] != 1:
        return f"unsupported schema_version {event['schema_version']!r}"
    event_id = event["event_id"]
    if not isinstance(event_id, str) or not _EVENT_ID.fullmatch(event_id):
        return "event_id is not 32 lowercase hex digits"
    for key in ("timestamp", "observed_timestamp"):
        value = event[key]
        if not isinstance(value, str) or not _TIMESTAMP.fullmatch(value):
            return f"{key} is not an RFC 3339 UTC timestamp with nanoseconds"
    number = event["severity_number"]
    if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number <= 24:
        return "severity_number is not an integer from 0 to 24"
    if not isinstance(event["body"], (str, dict)):
        return "body is neither a string nor an object"
    if not isinstance(event["resource"], dict) or not isinstance(event["attributes"], dict):
        return "resource and attributes must be objects"
    return None


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema document of event v1."""
    text = resources.files("schemas").joinpath("event-v1.schema.json").read_bytes()
    value: dict[str, Any] = orjson.loads(text)
    return value


def schema_errors(event: Any) -> list[str]:
    """Every way `event` breaks the JSON Schema, as `path: message` lines; empty when it conforms."""
    from jsonschema import Draft202012Validator

    validator = _validator(Draft202012Validator)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in sorted(validator.iter_errors(event), key=lambda e: list(map(str, e.absolute_path)))
    ]


@cache
def _validator(cls: Any) -> Any:
    cls.check_schema(schema())
    return cls(schema())
