"""One output stream of a run (stdout or stderr): its lines through the shipper's own parsing (the parser registry,
auto, multiline grouping: shipper.parsers.pipeline.StreamParser, exactly as for a file), then into spool records.

The parsed event is taken apart again into the spool record's keys: its timestamp, level, message, trace and span
ids, its attributes (but the file ones), the format that read it and the raw text. Not thread-safe on its own: the
run holds one lock per stream around `lines`, `tick` and `close`.
"""

import time
from typing import Any, Final

import orjson

from shipper.config import InputSettings, JobSettings
from shipper.jobs.decoding import Line
from shipper.jobs.records import ORIGINAL_KEY, EventName, Record, RunContext, Stream
from shipper.parsers.pipeline import StreamParser
from shipper.records import EncodedEvent, StreamContext

_FILE_KEYS: Final = frozenset({"log.file.path", "log.file.name", "log.file.record_offset", "log.record.original"})
# Keys the json format reads as the timestamp, level, message, trace or span id, service: a parsed attribute of
# that name is kept under name_value, so it cannot take the role of the record's own keys when the spool is shipped.
_ROLE_KEYS: Final = frozenset({
    "@timestamp", "timestamp", "time", "ts", "datetime", "level", "severity", "lvl", "loglevel", "log.level",
    "levelname", "msg", "message", "trace_id", "traceId", "traceid", "trace.id", "TraceId", "span_id", "spanId",
    "spanid", "span.id", "SpanId", "service", "service.name", "service_name", "error", "err", "exception", "stack",
    "stacktrace", "stack_trace",
})


def output_settings(jobs: JobSettings) -> InputSettings:
    """The input settings a run's output is parsed with: [jobs] format and multiline."""
    return InputSettings(id="job", paths=["-"], format=jobs.format, multiline=jobs.multiline)


class OutputStream:
    """Lines of one stream in, spool records out (held back while a multiline event may go on)."""

    def __init__(self, run: RunContext, stream: Stream, settings: InputSettings) -> None:
        self.run = run
        self.stream = stream
        context = StreamContext("job", "0" * 16, f"<{stream.value}>", "utf-8", {}, {})
        self._parser = StreamParser(settings, context)
        self._offset = 0
        # the keys every record of this stream shares, in their order after the line's own attributes
        self._tail = {
            "event.name": EventName.OUTPUT.value, "job.name": run.job.value, "job.run.id": run.run_id.value,
            "log.iostream": stream.value,
        }
        self.lines = 0
        self.records = 0

    def lines_in(self, lines: list[Line]) -> list[Record]:
        """The records `lines` complete."""
        batch = []
        offset = self._offset
        for line in lines:
            data = line.text.encode("utf-8", "surrogatepass")
            end = offset + len(data) + 1
            batch.append((offset, end, data, line.truncated))
            offset = end
        self._offset = offset
        self.lines += len(lines)
        return self._records(self._parser.feed(batch, time.time_ns()))

    def tick(self) -> list[Record]:
        """Held events whose multiline flush timeout passed."""
        if self._parser.held_from() is None:
            return []
        return self._records(self._parser.flush(time.time_ns(), force=False))

    def close(self) -> list[Record]:
        """Everything still held (the stream ended)."""
        return self._records(self._parser.flush(time.time_ns(), force=True))

    def _records(self, events: list[EncodedEvent]) -> list[Record]:
        records = [self._record(orjson.loads(event.value)) for event in events]
        self.records += len(records)
        return records

    def _record(self, event: dict[str, Any]) -> Record:
        attributes: dict[str, Any] = event.get("attributes") or {}
        body = event.get("body")
        original = attributes.get("log.record.original")
        if original is None:
            original = body if isinstance(body, str) else orjson.dumps(body).decode()
        record: Record = {"timestamp": event["timestamp"]}
        if event.get("severity_text"):
            record["level"] = event["severity_text"]
        record["message"] = body if isinstance(body, str) else original
        for key in ("trace_id", "span_id"):
            if key in event:
                record[key] = event[key]
        run = self.run
        if run.service:
            record["service"] = run.service
        for key, value in attributes.items():
            if key not in _FILE_KEYS:
                record[f"{key}_value" if key in _ROLE_KEYS else key] = value
        record.update(self._tail)
        record["job.output.format"] = event.get("format")
        if event.get("parse_error"):
            record["job.output.parse_error_reason"] = event.get("parse_error_reason")
        if event.get("flags"):
            record["job.output.flags"] = event["flags"]
        record[ORIGINAL_KEY] = original
        return record
