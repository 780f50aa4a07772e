"""Golden files: tests/golden/<format>/<case>.log parsed with that format must give <case>.expected.jsonl.

Regenerate after a deliberate change with LOGFERRY_REGOLD=1 and review the diff line by line."""

import os
from pathlib import Path

import orjson
import pytest

from schemas.validate import schema_errors
from tests.parsers.support import parse_golden, parse_settings, raw_text, split_records

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
CASES = sorted(GOLDEN.glob("*/*.log"))


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.name}" for p in CASES])
def test_golden(path: Path) -> None:
    events = parse_golden(path)
    for event in events:
        assert schema_errors(event) == [], event
    expected_path = path.with_name(path.name.removesuffix(".log") + ".expected.jsonl")
    if os.environ.get("LOGFERRY_REGOLD"):
        expected_path.write_bytes(b"".join(orjson.dumps(e, option=orjson.OPT_SORT_KEYS) + b"\n" for e in events))
    expected = [orjson.loads(line) for line in expected_path.read_bytes().splitlines() if line.strip()]
    assert events == expected


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.name}" for p in CASES])
def test_golden_keeps_every_line(path: Path) -> None:
    """The events' raw texts, in order, are exactly the file's lines: nothing dropped, nothing doubled."""
    events = parse_golden(path)
    settings = parse_settings(path)
    records, codec = split_records(path.read_bytes(), settings.encoding)
    lines = [record.data.decode(codec, "replace") for record in records]
    assert "\n".join(raw_text(event) for event in events) == "\n".join(lines)
