"""The per-stream parsing pipeline the harvester calls: decode, group lines, parse, serialise.

Contract with the harvester (shipper.harvest):
- `feed(records, observed_ns)` takes complete lines in file order and returns the events that are
  complete. Records may be held back (multiline grouping); `held_from()` then names the offset of the
  first held record, and the checkpoint must not pass it.
- `flush(observed_ns, force)` emits held events whose flush timeout has passed, or all of them when
  `force` (the file was closed for good: deleted, rotated away and drained).
- Never raises on bad input: a line nobody understands becomes an event with the raw line as body and
  parse_error set.
"""

from collections.abc import Sequence

import orjson

from schemas.timefmt import format_ns
from shipper.config import InputSettings
from shipper.records import EncodedEvent, RawRecord, StreamContext


class StreamParser:
    """Turns one stream's raw records into serialised unified events. (Placeholder: plain text only.)"""

    def __init__(self, settings: InputSettings, context: StreamContext) -> None:
        self.settings = settings
        self.context = context

    def feed(self, records: Sequence[RawRecord], observed_ns: int) -> list[EncodedEvent]:
        ctx = self.context
        observed = format_ns(observed_ns)
        out = []
        for record in records:
            body = record.data.decode(ctx.encoding, "replace")
            attributes = {
                **ctx.fields,
                "log.file.path": ctx.path,
                "log.file.name": ctx.path.replace("\\", "/").rsplit("/", 1)[-1],
                "log.file.record_offset": record.offset,
            }
            event = {
                "schema_version": 1,
                "event_id": f"{ctx.stream_id}{record.offset:016x}",
                "timestamp": observed,
                "observed_timestamp": observed,
                "severity_text": None,
                "severity_number": 0,
                "body": body,
                "resource": ctx.resource,
                "attributes": attributes,
                "format": "plain",
                "input_id": ctx.input_id,
                "parse_error": False,
            }
            if record.truncated:
                event["flags"] = ["truncated"]
            out.append(EncodedEvent(record.offset, record.end, orjson.dumps(event)))
        return out

    def flush(self, observed_ns: int, *, force: bool) -> list[EncodedEvent]:
        return []

    def held_from(self) -> int | None:
        return None
