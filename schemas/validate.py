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
# The schema's own pattern (ASCII digits only).
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z")


def check_event(event: Any) -> str | None:
    """None if `event` has what the consumer relies on, else a sentence saying what is wrong.

    Runs once per consumed record, so it reads each field once and looks for the others only when one is missing."""
    if not isinstance(event, dict):
        return "the event is not a JSON object"
    try:
        version = event["schema_version"]
        event_id = event["event_id"]
        timestamp = event["timestamp"]
        observed = event["observed_timestamp"]
        number = event["severity_number"]
        body = event["body"]
        resource = event["resource"]
        attributes = event["attributes"]
    except KeyError:
        return _missing(event)
    if "format" not in event or "input_id" not in event or "parse_error" not in event:
        return _missing(event)
    if version != 1:
        return f"unsupported schema_version {version!r}"
    if not isinstance(event_id, str) or not _EVENT_ID.fullmatch(event_id):
        return "event_id is not 32 lowercase hex digits"
    if not isinstance(timestamp, str) or not _TIMESTAMP.fullmatch(timestamp):
        return "timestamp is not an RFC 3339 UTC timestamp with nanoseconds"
    if not isinstance(observed, str) or not _TIMESTAMP.fullmatch(observed):
        return "observed_timestamp is not an RFC 3339 UTC timestamp with nanoseconds"
    if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number <= 24:
        return "severity_number is not an integer from 0 to 24"
    if not isinstance(body, (str, dict)):
        return "body is neither a string nor an object"
    if not isinstance(resource, dict) or not isinstance(attributes, dict):
        return "resource and attributes must be objects"
    return None


def _missing(event: dict[str, Any]) -> str:
    """The sentence for the first required key `event` lacks."""
    missing = next(key for key in _REQUIRED if key not in event)
    return f"the event has no {missing}"


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
