"""The one owner of the event's shape on the wire: its JSON bytes, its event_id, the failure event, and what the Kafka
message carries beside the value.

A parser returns the parsed part of an event only (shipper.parsers.base): `timestamp`, `severity_text`,
`severity_number`, `body` and `attributes`, plus `trace_id`, `span_id`, `resource` or `flags` when it has them,
`attributes` its last key. The encoder adds what does not depend on the line and serialises, in this key order:

    event_id, schema_version, format, input_id, parse_error, observed_timestamp,
    resource (the stream's; left out when the parsed fields carry their own),
    the parsed fields in the parser's order, `attributes` with the stream's constant attributes (the input's
    `fields`, log.file.path, log.file.name) and log.file.record_offset added after the parser's own (a key of the
    parser's own of one of those names keeps its place and takes the stream's value),
    parse_error_reason (failure events only),
    flags, when the pipeline adds some (truncated, encoding_replaced, multiline_truncated, parse_timeout): after the
    parser's own flags, without repeats, in the place of the parser's `flags` key, else last.

The order is part of the contract: `schemas.event.reference_event` builds the same event as a plain dict, in plain
code, and tests/parsers/test_encoder.py holds the encoder's bytes equal to orjson.dumps of it, byte for byte, for
random events. A failure event (a line no parser understood, or one whose parser raised) is the same shape, with the
raw text as body and as log.record.original and `parse_error` true.

event_id: the stream id followed by the record's start offset as 16 hex digits (schemas.ids). The Kafka message of an
event: the stream id as key (so one file's events stay in order on one partition), the value, and two headers,
`schema_version` and `event_id` (EncodedEvent.event_id), so the producer never reads the value (the header names and
the schema_version header's value are shipper.records.KAFKA_*: the producer is compiled in another mypyc group).

Speed (this is the per-line cost of serialising; bench/parse_throughput.py): what is the same for every event of a
batch (schema version, format, input id, observed time, resource) is serialised once per format and observed time
(`Heads`) and spliced in front of the parsed fields' JSON; the constant attributes and the offset are serialised once
per stream and spliced after the parser's attributes, so an event costs one orjson.dumps of what the parser returned.
Where that splice cannot be right (a parser's attribute named like a constant one; a key after `attributes`, such
as a flag added late), the general path updates the parsed dict and serialises it instead: the same bytes.
"""

from typing import Any, Final

import orjson

from schemas.event import SCHEMA_VERSION
from shipper.parsers.clock import Clock
from shipper.records import EncodedEvent, StreamContext

Event = dict[str, Any]

RECORD_OFFSET: Final = "log.file.record_offset"
ORIGINAL: Final = "log.record.original"
REASON_LIMIT: Final = 512
"""Characters of parse_error_reason kept."""

_dumps: Final = orjson.dumps
_join: Final = b"".join
_new_tuple: Final = tuple.__new__  # EncodedEvent(...) goes through a Python-level __new__; this is the same tuple, cheaper
_ID_OPEN: Final = b'{"event_id":"'
_CLOSE: Final = b"}}"
_HEX3: Final[tuple[bytes, ...]] = tuple(b"%03x" % low for low in range(4096))
"""the last three hex digits of an event_id's offset half; the first thirteen change only every 4 KiB"""
_DEC3: Final[tuple[bytes, ...]] = tuple(b"%03d" % low for low in range(1000))
"""the last three decimal digits of log.file.record_offset from 1000 on; the others change only every 1000 bytes
(str(offset).encode() per line cost about 1% of a line's instructions)"""
_UNITS: Final[tuple[bytes, ...]] = tuple(b"%d" % low for low in range(1000))
"""log.file.record_offset below 1000"""
_OBJECT_END: Final = 125  # "}": the parsed fields' JSON ends in an object (their attributes, by the contract)


class Heads:
    """The serialised fields an event of one format shares with its batch, from the closing quote of the event_id to
    a comma: `shared` with the stream's resource, `own` without it (for parsed fields that carry their own)."""

    def __init__(self, shared: bytes, own: bytes) -> None:
        self.shared = shared
        self.own = own


class StreamEncoder:
    """Serialises one stream's parsed events. `clock.observed` is the batch's observed time (the pipeline sets it)."""

    def __init__(self, context: StreamContext, clock: Clock) -> None:
        self.clock = clock
        self._stream = context.stream_id.encode()
        self._input_json = _dumps(context.input_id)
        self._resource_json = _dumps(context.resource)
        path = context.path
        name = path.replace("\\", "/").rsplit("/", 1)[-1]
        self.constant: dict[str, Any] = {**context.fields, "log.file.path": path, "log.file.name": name}
        """What every event's attributes get after the parser's own, before log.file.record_offset."""
        self._constant_keys: tuple[str, ...] = (*self.constant, RECORD_OFFSET)
        # the constant attributes and the offset's key, serialised once: the end of every event's attributes
        self._tail: bytes = _dumps(self.constant)[1:-1] + b',"' + RECORD_OFFSET.encode() + b'":'
        self._comma_tail: bytes = b"," + self._tail
        self._heads: dict[str, Heads] = {}
        self._heads_observed = ""
        self._high = -1
        """offset >> 12 of the last event_id made; _high_id is the stream id and its 13 hex digits"""
        self._high_id = b""
        self._thousands = -1
        """offset // 1000 of the last record offset written; _thousands_text is its decimal digits (none below 1000),
        _units the table of the digits after them"""
        self._thousands_text = b""
        self._units = _UNITS

    def heads(self, log_format: str) -> Heads:
        """The shared fields of this batch's events of format `log_format` (valid until the observed time changes)."""
        observed = self.clock.observed
        if observed != self._heads_observed:
            self._heads.clear()
            self._heads_observed = observed
        heads = self._heads.get(log_format)
        if heads is None:
            own = self._head(log_format, parse_error=False)
            heads = Heads(own + b'"resource":' + self._resource_json + b",", own)
            self._heads[log_format] = heads
        return heads

    def encode(self, event: Event, heads: Heads, offset: int, end: int) -> EncodedEvent:
        """The event for the parsed fields `event` of the record at `offset` (`heads` from `heads(its format)`).
        `event` may be changed (its attributes completed) on the general path."""
        attributes: dict[str, Any] = event["attributes"]
        for key in self._constant_keys:
            if key in attributes:  # update() would overwrite it in place: the general path keeps that order
                return self._general(event, heads, offset, end, [])
        raw = _dumps(event)
        if raw[-2] != _OBJECT_END:  # a key after the attributes (a flag added late): not spliceable
            return self._general(event, heads, offset, end, [])
        # (five keys are base.parsed's, without a resource: the common case skips the lookup)
        head = heads.own if len(event) != 5 and "resource" in event else heads.shared
        # joined: the event_id (the stream id and the offset's top 13 hex digits cached, the last three from a table:
        # bytes % formatting cost more than the parse of a golog line), the head, the parsed fields' JSON without its
        # "{" and final "}}", the constant attributes ending in `"log.file.record_offset":` (after a comma when the
        # parser's attributes are not empty), the offset (its thousands cached, the last three digits from a table)
        if offset >> 12 != self._high:
            self._high = offset >> 12
            self._high_id = self._stream + b"%013x" % self._high
        event_id = self._high_id + _HEX3[offset & 4095]
        thousands = offset // 1000
        if thousands != self._thousands:
            self._thousands = thousands
            self._thousands_text = str(thousands).encode() if thousands else b""
            self._units = _DEC3 if thousands else _UNITS
        value = _join((
            _ID_OPEN, event_id, head, raw[1:-2], self._comma_tail if attributes else self._tail, self._thousands_text,
            self._units[offset - thousands * 1000], _CLOSE,
        ))
        return _new_tuple(EncodedEvent, (offset, end, value, event_id))

    def encode_flagged(self, event: Event, heads: Heads, offset: int, end: int, flags: list[str]) -> EncodedEvent:
        """`encode`, with the pipeline's `flags` (truncated, encoding_replaced, ...) merged into the event's."""
        if not flags:
            return self.encode(event, heads, offset, end)
        return self._general(event, heads, offset, end, flags)

    def failure(self, text: str, offset: int, end: int, *, log_format: str, reason: str, flags: list[str]) -> EncodedEvent:
        """The event for text no parser understood: the raw text as body and as original, flagged parse_error with
        `reason` (a short sentence; "unparsable" when empty), timed at the observed time."""
        observed = self.clock.observed
        parsed: Event = {"timestamp": observed, "severity_text": None, "severity_number": 0, "body": text,
                         "attributes": {ORIGINAL: text}}
        head = self._head(log_format, parse_error=True) + b'"resource":' + self._resource_json + b","
        return self._assemble(parsed, head, offset, end, flags=flags, reason=(reason or "unparsable")[:REASON_LIMIT])

    def event_id(self, offset: int) -> bytes:
        """The event_id of the record at `offset`, as ASCII."""
        if offset >> 12 != self._high:
            self._high = offset >> 12
            self._high_id = self._stream + b"%013x" % self._high
        return self._high_id + _HEX3[offset & 4095]

    def _general(self, event: Event, heads: Heads, offset: int, end: int, flags: list[str]) -> EncodedEvent:
        return self._assemble(event, heads.own if "resource" in event else heads.shared, offset, end, flags=flags, reason=None)

    def _assemble(
        self, event: Event, head: bytes, offset: int, end: int, *, flags: list[str], reason: str | None,
    ) -> EncodedEvent:
        """The general path: `event` completed in place (the dict operations the reference builder does), serialised."""
        attributes = event["attributes"]
        attributes.update(self.constant)
        attributes[RECORD_OFFSET] = offset
        if reason is not None:
            event["parse_error_reason"] = reason
        if flags:
            existing = event.get("flags")
            event["flags"] = list(dict.fromkeys([*existing, *flags] if existing else flags))
        event_id = self.event_id(offset)
        return _new_tuple(EncodedEvent, (offset, end, _join((_ID_OPEN, event_id, head, _dumps(event)[1:])), event_id))

    def _head(self, log_format: str, *, parse_error: bool) -> bytes:
        """The fields after the event_id, from its closing quote to the comma before the resource."""
        return (
            b'","schema_version":' + _dumps(SCHEMA_VERSION) + b',"format":' + _dumps(log_format)
            + b',"input_id":' + self._input_json + (b',"parse_error":true' if parse_error else b',"parse_error":false')
            + b',"observed_timestamp":' + _dumps(self.clock.observed) + b","
        )
