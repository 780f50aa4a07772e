"""Test helpers: split a file's bytes into RawRecords the way the harvester does, and run a StreamParser."""

import codecs
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest

from shipper.config import InputSettings, MultilineSettings, RegexSettings
from shipper.harvest.encodings import AUTO, detect
from shipper.parsers.base import Parser
from shipper.parsers.pipeline import StreamParser
from shipper.records import RawRecord, StreamContext

OBSERVED_NS = 1_714_528_805_123_456_789  # 2024-05-01T02:00:05.123456789Z
TIMEZONE = "America/New_York"
STREAM = "0123456789abcdef"
RESOURCE = {"service.name": "tests", "host.name": "test-host", "host.id": "0f" * 16}
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def split_records(raw: bytes, encoding: str = "utf-8") -> tuple[list[RawRecord], str]:
    """Complete lines of `raw` (terminator and CR stripped, BOM consumed) and the codec in use.

    A last line without a terminator counts as complete (the file is read to its end)."""
    if encoding == AUTO:
        detected = detect(raw)  # as the shipper decides it; a file too short to tell reads as UTF-8
        encoding = detected[0] if detected else "utf-8"
    start = 0
    for bom, codec in _BOMS:
        if raw.startswith(bom) and (encoding in ("utf-8", "utf-16") or encoding == codec):
            start, encoding = len(bom), codec
            break
    if encoding == "utf-16":
        encoding = "utf-16-le"
    unit = 2 if encoding.startswith("utf-16") else 1
    newline = "\n".encode(encoding)
    carriage = "\r".encode(encoding)
    records: list[RawRecord] = []
    position = start
    while position < len(raw):
        index = raw.find(newline, position)
        while index != -1 and (index - start) % unit:
            index = raw.find(newline, index + 1)
        end = len(raw) if index == -1 else index + len(newline)
        data = raw[position:index if index != -1 else len(raw)]
        if data.endswith(carriage) and index != -1:
            data = data[: -len(carriage)]
        records.append(RawRecord(position, end, data))
        position = end
    return records, encoding


def make_settings(log_format: str, overrides: dict[str, Any] | None = None) -> InputSettings:
    options = dict(overrides or {})
    multiline = MultilineSettings(**options.pop("multiline", {}))
    regex = RegexSettings(**options.pop("regex", {}))
    options.setdefault("timezone", TIMEZONE)
    return InputSettings(id="golden", paths=["/logs/*.log"], format=log_format, multiline=multiline, regex=regex, **options)


def make_parser(settings: InputSettings, encoding: str = "utf-8", path: str = "/logs/app.log") -> StreamParser:
    context = StreamContext("golden", STREAM, path, encoding, dict(RESOURCE), {"env": "test"})
    return StreamParser(settings, context)


def parse_bytes(raw: bytes, settings: InputSettings, *, batch: int = 0, path: str = "/logs/app.log") -> list[dict[str, Any]]:
    """All events for a file's bytes, fed in batches of `batch` records (0: all at once), then force-flushed."""
    records, encoding = split_records(raw, settings.encoding)
    parser = make_parser(settings, encoding, path)
    size = batch or max(len(records), 1)
    encoded = []
    for begin in range(0, len(records), size):
        encoded.extend(parser.feed(records[begin:begin + size], OBSERVED_NS))
    encoded.extend(parser.flush(OBSERVED_NS, force=True))
    assert parser.held_from() is None
    events = []
    for item in encoded:
        event = orjson.loads(item.value)
        assert event["event_id"] == f"{STREAM}{item.offset:016x}"
        assert event["attributes"]["log.file.record_offset"] == item.offset
        events.append(event)
    return events


def parse_settings(path: Path) -> InputSettings:
    """The settings for golden input `path`: format from its folder (auto for `auto/`), overrides from `<name>.settings.json`."""
    settings_file = path.with_name(path.name.removesuffix(".log") + ".settings.json")
    overrides = orjson.loads(settings_file.read_bytes()) if settings_file.exists() else {}
    log_format = overrides.pop("format", path.parent.name)
    return make_settings(log_format, overrides)


def parse_golden(path: Path) -> list[dict[str, Any]]:
    """The events of golden input `path`."""
    return parse_bytes(path.read_bytes(), parse_settings(path), path=f"/logs/{path.name}")


def raw_text(event: dict[str, Any]) -> str:
    """The raw text an event came from: its original when kept, else its (string) body."""
    original = event["attributes"].get("log.record.original")
    if original is not None:
        return str(original)
    assert isinstance(event["body"], str), "an event with an object body must keep its original"
    return event["body"]


def fast_and_pattern(module: ModuleType, make: Callable[[], Parser], text: str, warm: Sequence[str] = ()) -> tuple[Any, Any]:
    """(fast, pattern) events for `text` from a format module with a string fast path: one parser that parsed `warm`
    first (so its timestamp caches hold, as mid-file) with the fast path on, and a fresh one with `module._fast` off."""
    fast_parser = make()
    for line in warm:
        fast_parser.parse(line)
    fast = fast_parser.parse(text)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "_fast", False)
        pattern = make().parse(text)
    return fast, pattern
