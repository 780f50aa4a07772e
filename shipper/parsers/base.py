"""The one interface every format parser implements, and the event pieces they share.

A parser turns the decoded text of one record (or of several joined lines) into the parsed part of a
unified event, its fields only: a dict with `timestamp`, `severity_text`, `severity_number`, `body` and a
fresh `attributes` dict, plus `trace_id`, `span_id`, `resource` or `flags` when it has them, `attributes`
its last key (as `parsed` builds it). The encoder (shipper.parsers.encoder) adds what does not depend on
the text (event_id, schema_version, format, input_id, observed_timestamp, the stream's resource, the file
attributes) and serialises; the parsed fields keep their order in the event. `parse` returns None when the
text is not in its format: the pipeline then probes other formats (auto) or emits a flagged parse-error
event (declared format). Parsers do no I/O.
"""

from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

import orjson

from schemas.severity import severity_from_text
from shipper.config import InputSettings
from shipper.parsers._mypyc import mypyc_attr
from shipper.parsers.clock import Clock

Event = dict[str, Any]
ORIGINAL: Final = "log.record.original"
TIMEZONE: Final = "event.timezone"
JOINS: Final = "_joins"
"""An event with this key (True) takes the lines after it that its parser does not read as events, as a `joins_lines`
parser's events do, though its parser is not one: for formats where only some events have continuation lines (a Go
panic and its goroutine trace), so the other lines keep the pipeline's fast path. The pipeline removes the key."""
_LEVEL_LIMIT: Final = 1024
_level_numbers: Final[dict[str, int]] = {}


@dataclass
class ParseEnv:
    """What a stream's parsers share: its clock (zone, observed time), its input's settings and resource."""

    clock: Clock
    settings: InputSettings
    resource: dict[str, Any]
    service_resources: dict[str, orjson.Fragment] = field(default_factory=dict)
    """The stream's resource with another service.name (from a record's `service` key), pre-serialised."""


@mypyc_attr(allow_interpreted_subclasses=True)
class Parser:
    """One log format. Instances are per stream, so they may keep per-stream state (IIS #Fields)."""

    name: ClassVar[str] = ""
    joins_lines: ClassVar[bool] = False
    """Lines that follow an event and are not themselves an event of this format (stack traces) belong to it.
    (Only some events of the format: mark those with JOINS and answer `continues` and `parse_joined` for them.)"""
    has_partials: ClassVar[bool] = False
    """Records may be partial pieces of one line (container runtimes); `partial` tells them apart."""

    def __init__(self, env: ParseEnv) -> None:
        self.env = env
        self.clock = env.clock

    def parse(self, text: str) -> Event | None:
        """The parsed event for `text`, or None when `text` is not in this format."""
        raise NotImplementedError

    def reject_reason(self, text: str) -> str:
        """Why `parse(text)` returned None, as a short sentence for parse_error_reason."""
        return f"the line is not in the {self.name} format"

    def continues(self, text: str) -> bool:
        """For `joins_lines` parsers (or events marked JOINS): whether `text`, which `parse` rejected, continues the
        previous event."""
        return False

    def parse_joined(self, text: str, first: Event) -> Event:
        """The event for an event's lines joined with newlines; `first` is what `parse` made of the first line."""
        return self.parse(text) or first

    def partial(self, event: Event) -> bool:
        """For `has_partials` parsers: whether `event` is an unfinished piece to be joined with what follows.
        Such parsers mark a piece with `"_partial": True` in the event; the mark is removed here."""
        return bool(event.pop("_partial", False))

    def merge(self, events: list[Event], text: str) -> Event:
        """For `has_partials` parsers: one event from consecutive pieces (the last one complete or cut off): the
        first piece's fields, the pieces' bodies joined, and the raw text of all pieces as the original."""
        first = events[0]
        first.pop("_partial", None)
        first["body"] = "".join(event["body"] for event in events)
        first["attributes"][ORIGINAL] = text
        return first


def parsed(timestamp: str, severity_text: str | None, severity_number: int, body: Any, attributes: dict[str, Any]) -> Event:
    """The parsed part of an event. Parsers building the dict themselves keep `attributes` last (other keys go
    before it): the encoder splices the stream's constant attributes after the parsed fields' JSON, and takes
    a slower path for an event whose JSON does not end in an object (see shipper.parsers.encoder)."""
    return {
        "timestamp": timestamp,
        "severity_text": severity_text,
        "severity_number": severity_number,
        "body": body,
        "attributes": attributes,
    }


def observed_event(clock: Clock, body: Any, attributes: dict[str, Any], *, unparsed: bool) -> Event:
    """An event timed at the observed time; flagged timestamp_unparsed when the line had a timestamp we could not read."""
    event = parsed(clock.observed, None, 0, body, attributes)
    if unparsed:
        event["flags"] = ["timestamp_unparsed"]
    return event


def timestamp_unparsed(event: Event, clock: Clock) -> Event:
    """`event` re-timed at the observed time and flagged: its line had a timestamp that names no real time
    (February 30, hour 25); the line keeps its format and fields."""
    event["timestamp"] = clock.observed
    event["attributes"].pop(TIMEZONE, None)
    add_flag(event, "timestamp_unparsed")
    return event


def add_flag(event: Event, flag: str) -> None:
    """Add `flag` to the event's flags once."""
    flags = event.get("flags")
    if flags is None:
        event["flags"] = [flag]
    elif flag not in flags:
        flags.append(flag)


def level_number(level: str) -> int:
    """schemas.severity.severity_from_text(level), remembered per level text (a call into that interpreted module
    costs more than a compiled parser spends on a field)."""
    number = _level_numbers.get(level)
    if number is None:
        number = severity_from_text(level)
        if len(_level_numbers) >= _LEVEL_LIMIT:
            _level_numbers.clear()
        _level_numbers[level] = number
    return number
