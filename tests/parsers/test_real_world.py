"""Real-world layouts in `format = "auto"` with no other setting: does each line get its own timestamp and level?

tests/golden/real-world/layouts/<layout>.log is a small file in one product's own layout (a folder below the format
folders, so test_golden's `*/*.log` does not take it for one); <layout>.expected.jsonl says, per
line, the UTC timestamp the product meant and the level it wrote (or none), or that the line continues the previous
event (see the folder's README). Every layout goes through a fresh StreamParser; the scores are printed per layout
and must reach THRESHOLD over all lines of all layouts. The same again with all layouts interleaved event by event
in one stream (a trace stays with its event).

The clock is pinned: every batch is observed at NOW (year-less dates take their year from it), and the input's zone
is UTC, the default (`local`) on a UTC host, written out so a developer's laptop in another zone scores the same.
"""

import codecs
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from schemas.timefmt import parse_rfc3339_ns
from shipper.config import InputSettings
from shipper.records import RawRecord
from tests.parsers.support import make_parser, raw_text, split_records

REAL_WORLD = Path(__file__).resolve().parent.parent / "golden" / "real-world" / "layouts"
README = REAL_WORLD.parent / "README.md"
LAYOUTS = sorted(path.name.removesuffix(".log") for path in REAL_WORLD.glob("*.log"))
NOW_NS = parse_rfc3339_ns("2026-03-14T12:00:00Z")
THRESHOLD = 98.0
MINIMUM_LAYOUTS = 36


@dataclass(frozen=True)
class Expected:
    """What one line of a layout file should become."""

    line: int
    timestamp_ns: int | None  # None: the line continues the previous event
    severity: int | None  # None: the line carries no level word

    @property
    def continues(self) -> bool:
        return self.timestamp_ns is None


@dataclass
class Score:
    """Per-layout counts: lines, head lines read with their own timestamp, levelled lines read with their level,
    continuation lines kept with their event."""

    name: str
    lines: int = 0
    stamped: int = 0
    stamped_ok: int = 0
    levelled: int = 0
    levelled_ok: int = 0
    continued: int = 0
    continued_ok: int = 0

    def add(self, other: "Score") -> None:
        self.lines += other.lines
        self.stamped += other.stamped
        self.stamped_ok += other.stamped_ok
        self.levelled += other.levelled
        self.levelled_ok += other.levelled_ok
        self.continued += other.continued
        self.continued_ok += other.continued_ok

    @staticmethod
    def percent(ok: int, total: int) -> float | None:
        return None if total == 0 else 100.0 * ok / total

    @property
    def timestamp_pct(self) -> float | None:
        return self.percent(self.stamped_ok, self.stamped)

    @property
    def level_pct(self) -> float | None:
        return self.percent(self.levelled_ok, self.levelled)

    @property
    def continuation_pct(self) -> float | None:
        return self.percent(self.continued_ok, self.continued)


def expectations(name: str) -> list[Expected]:
    rows = [orjson.loads(line) for line in (REAL_WORLD / f"{name}.expected.jsonl").read_bytes().splitlines() if line]
    result = []
    for row in rows:
        if row.get("continues"):
            result.append(Expected(row["line"], None, None))
        else:
            result.append(Expected(row["line"], parse_rfc3339_ns(row["ts"]), row["severity"]))
    return result


def file_records(name: str) -> tuple[list[RawRecord], str]:
    """The layout file's lines as the harvester frames them; a UTF-16 BOM decides the codec, as encoding auto does."""
    raw = (REAL_WORLD / f"{name}.log").read_bytes()
    encoding = "utf-16" if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8"
    return split_records(raw, encoding)


def utf8_records(lines: Sequence[str]) -> list[RawRecord]:
    records, offset = [], 0
    for line in lines:
        data = line.encode("utf-8")
        records.append(RawRecord(offset, offset + len(data) + 1, data))
        offset += len(data) + 1
    return records


def settings() -> InputSettings:
    return InputSettings(id="real-world", paths=["/logs/*.log"], format="auto", timezone="UTC")


def parse(records: list[RawRecord], codec: str, path: str) -> list[dict[str, Any]]:
    parser = make_parser(settings(), codec, path)
    encoded = list(parser.feed(records, NOW_NS))
    encoded.extend(parser.flush(NOW_NS, force=True))
    return [orjson.loads(item.value) for item in encoded]


def score(name: str, records: Sequence[RawRecord], expected: Sequence[Expected], events: list[dict[str, Any]]) -> Score:
    """Each head line scores when an event starts at it with its timestamp (and its level, where it has one);
    each continuation line scores when no event starts at it."""
    assert len(records) == len(expected), f"{name}: {len(records)} lines but {len(expected)} expectations"
    starts = {event["attributes"]["log.file.record_offset"]: event for event in events}
    result = Score(name, lines=len(records))
    for record, want in zip(records, expected, strict=True):
        event = starts.get(record.offset)
        if want.continues:
            result.continued += 1
            result.continued_ok += event is None
            continue
        result.stamped += 1
        result.stamped_ok += event is not None and parse_rfc3339_ns(event["timestamp"]) == want.timestamp_ns
        if want.severity is not None:
            result.levelled += 1
            result.levelled_ok += event is not None and event["severity_number"] == want.severity
    return result


def layout_score(name: str) -> Score:
    records, codec = file_records(name)
    return score(name, records, expectations(name), parse(records, codec, f"/logs/{name}.log"))


def table(scores: Sequence[Score], total: Score) -> str:
    def cell(value: float | None) -> str:
        return "     -" if value is None else f"{value:6.1f}"

    rows = [f"{'layout':<26} {'lines':>5} {'ts %':>6} {'level %':>7} {'cont %':>6}"]
    for item in [*scores, total]:
        rows.append(f"{item.name:<26} {item.lines:>5} {cell(item.timestamp_pct)} {cell(item.level_pct):>7} "
                    f"{cell(item.continuation_pct)}")
    return "\n".join(rows)


def verdict(scores: Sequence[Score], label: str) -> tuple[Score, str]:
    total = Score(label)
    for item in scores:
        total.add(item)
    report = table(scores, total)
    print(f"\n{report}")
    return total, report


def assert_thresholds(total: Score, report: str) -> None:
    failures = [
        f"{what} {value:.1f}% < {THRESHOLD}%"
        for what, value in (("timestamps", total.timestamp_pct), ("levels", total.level_pct),
                            ("continuations", total.continuation_pct))
        if value is not None and value < THRESHOLD
    ]
    assert not failures, "; ".join(failures) + "\n" + report


def test_corpus_is_complete() -> None:
    """Enough distinct layouts, each with an expectation per line, each listed in the README."""
    assert len(LAYOUTS) >= MINIMUM_LAYOUTS, LAYOUTS
    readme = README.read_text(encoding="utf-8")
    for name in LAYOUTS:
        records, _ = file_records(name)
        expected = expectations(name)
        assert [want.line for want in expected] == list(range(1, len(records) + 1)), name
        assert not expected[0].continues, f"{name}: the first line cannot continue anything"
        assert 6 <= len(records) <= 30, f"{name}: {len(records)} lines"
        assert f"`{name}`" in readme, f"{name} is not listed in README.md"
    assert len(list(REAL_WORLD.glob("*.expected.jsonl"))) == len(LAYOUTS)


def test_real_world_keeps_every_line() -> None:
    """Whatever auto makes of them, the events' raw texts are the files' lines in order: nothing dropped or doubled."""
    for name in LAYOUTS:
        records, codec = file_records(name)
        events = parse(records, codec, f"/logs/{name}.log")
        lines = [record.data.decode(codec) for record in records]
        assert "\n".join(raw_text(event) for event in events) == "\n".join(lines), name


def test_real_world_layouts_in_auto() -> None:
    total, report = verdict([layout_score(name) for name in LAYOUTS], "overall")
    assert_thresholds(total, report)


def interleaved() -> Iterator[tuple[str, list[str], list[Expected]]]:
    """Each layout's events (a head line and its continuations), taken one event per layout in turn."""
    queues = []
    for name in LAYOUTS:
        records, codec = file_records(name)
        lines = [record.data.decode(codec) for record in records]
        events: list[tuple[list[str], list[Expected]]] = []
        for line, want in zip(lines, expectations(name), strict=True):
            if want.continues:
                events[-1][0].append(line)
                events[-1][1].append(want)
            else:
                events.append(([line], [want]))
        queues.append((name, events))
    depth = max(len(events) for _, events in queues)
    for index in range(depth):
        for name, events in queues:
            if index < len(events):
                yield name, *events[index]


def test_real_world_layouts_mixed() -> None:
    """All layouts interleaved event by event in one UTF-8 stream (the UTF-16 file's text re-encoded), scored per
    layout of origin."""
    lines: list[str] = []
    expected: list[Expected] = []
    origin: list[str] = []
    for name, event_lines, wants in interleaved():
        lines.extend(event_lines)
        expected.extend(wants)
        origin.extend([name] * len(event_lines))
    records = utf8_records(lines)
    events = parse(records, "utf-8", "/logs/mixed.log")
    scores = []
    for name in LAYOUTS:
        picked = [index for index, layout in enumerate(origin) if layout == name]
        scores.append(score(name, [records[i] for i in picked], [expected[i] for i in picked], events))
    total, report = verdict(scores, "mixed overall")
    assert_thresholds(total, report)
