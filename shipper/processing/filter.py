"""include_lines / exclude_lines: which raw lines of an input are parsed at all.

A line is judged as it was read, before parsing and before lines are grouped into events (so an excluded line
costs no parse): kept when it matches one of `include_lines` (all lines when that list is empty), unless it matches
one of `exclude_lines`. With multiline grouping, or a format that joins stack traces, each line is judged by itself:
an include pattern must also match the continuation lines to keep them ([[inputs.drop]] judges whole events).

Patterns run on RE2 (linear time, shipper.processing.patterns); a UTF-8 input's lines are matched as bytes, without
decoding; other encodings are decoded first (undecodable bytes replaced). A pattern without metacharacters is a
substring test. Dropped lines still move the checkpoint: they are simply not handed to the parser.
"""

import re
from collections.abc import Callable, Sequence
from typing import Any

from shipper.parsers.pipeline import StreamParser
from shipper.processing.patterns import compile_user
from shipper.records import EncodedEvent, RecordFields

Matcher = Callable[[Any], bool]
"""Whether a line (bytes of a UTF-8 input, else str) matches one of a list's patterns."""

INCLUDE = "include_lines"
EXCLUDE = "exclude_lines"


def matcher(patterns: list[str], key: str, *, as_bytes: bool) -> Matcher | None:
    """One test for any of `patterns` (None for none): literal patterns as substring tests, the others as one RE2
    alternation (one pass over the line, whatever their number). ConfigError naming `key[i]` for a bad one."""
    literals: list[Any] = []
    expressions: list[str] = []
    for i, pattern in enumerate(patterns):
        compile_user(pattern, f"{key}[{i}]", as_bytes=as_bytes)  # each alone, so an error names its own index
        if re.escape(pattern) == pattern or re.fullmatch(r"[\w ]+", pattern):
            literals.append(pattern.encode() if as_bytes else pattern)
        else:
            expressions.append(pattern)
    tests: list[Matcher] = []
    if expressions:
        search = compile_user("|".join(f"(?:{e})" for e in expressions), key, as_bytes=as_bytes).search
        tests.append(lambda line: search(line) is not None)
    if len(literals) == 1:
        (literal,) = literals
        tests.append(lambda line: literal in line)
    elif literals:
        tests.append(lambda line: any(literal in line for literal in literals))
    if not tests:
        return None
    if len(tests) == 1:
        return tests[0]
    first, second = tests
    return lambda line: first(line) or second(line)


class LineFilter:
    """The include/exclude test of one input, for one encoding; counts what it drops in `dropped` (by reason)."""

    def __init__(self, include: Matcher | None, exclude: Matcher | None, encoding: str, dropped: dict[str, int]) -> None:
        self.include = include
        self.exclude = exclude
        self.encoding = encoding
        self.utf8 = encoding == "utf-8"
        self.dropped = dropped

    def keep(self, records: Sequence[RecordFields]) -> Sequence[RecordFields]:
        """The records to parse, in order."""
        include, exclude = self.include, self.exclude
        utf8, encoding = self.utf8, self.encoding
        kept: list[RecordFields] = []
        not_included = excluded = 0
        for record in records:
            data = record[2]
            line = data if utf8 else data.decode(encoding, "replace")
            if include is not None and not include(line):
                not_included += 1
            elif exclude is not None and exclude(line):
                excluded += 1
            else:
                kept.append(record)
        if not_included:
            self.dropped[INCLUDE] = self.dropped.get(INCLUDE, 0) + not_included
        if excluded:
            self.dropped[EXCLUDE] = self.dropped.get(EXCLUDE, 0) + excluded
        return kept


class FilteredParser:
    """A stream parser that sees only the lines its input's filter keeps (the harvester's interface of
    shipper.parsers.pipeline.StreamParser)."""

    def __init__(self, parser: StreamParser, lines: LineFilter) -> None:
        self.parser = parser
        self.lines = lines

    def feed(self, records: Sequence[RecordFields], observed_ns: int) -> list[EncodedEvent]:
        return self.parser.feed(self.lines.keep(records), observed_ns)

    def flush(self, observed_ns: int, *, force: bool) -> list[EncodedEvent]:
        return self.parser.flush(observed_ns, force=force)

    def held_from(self) -> int | None:
        return self.parser.held_from()
