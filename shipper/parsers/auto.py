"""auto: which format a line is in, by cheap ordered probes.

The first characters pick a short list of candidate formats (`{` json, `<` syslog, `#` IIS directives,
`dddd-` dated lines, `dddd/` Go log, ...); each candidate's own parser then confirms. The pipeline asks
only when the stream's settled format rejects a line, so a file in one format pays for one parse per line.
Which formats are candidates for which shape, in which order, each parser declares (`probes` of its record,
shipper.parsers.declaration); the lists are derived once, here, when the module is imported.

Most lines no format claims (plain text) hold no time of day: auto looks once per line for a `:` between digits, and a
line without one is offered neither to the formats whose records declare their lines always have one in its shape
(`timed`), nor to the text parser's scanner unless the digits of its first look find a compact date or an epoch.
"""

from typing import Final

from shipper.parsers.base import Event, ParseEnv, Parser
from shipper.parsers.declaration import Shape, candidates_by_shape
from shipper.parsers.jsonlines import JsonParser
from shipper.parsers.layout.scan import FIRST_LOOK, clock_colon, digits_may_hold_time
from shipper.parsers.registry import FORMATS, PARSERS, parser_class
from shipper.parsers.text import TextParser

CANDIDATES: Final[dict[Shape, tuple[str, ...]]] = candidates_by_shape(FORMATS)
"""For each line shape, the formats auto tries, best first (json refuses docker-shaped records in auto mode, so each
`{` line is decoded once)."""
TIMELESS: Final[dict[Shape, tuple[str, ...]]] = candidates_by_shape(FORMATS, timeless=True)
"""The same without the formats whose lines always have a time of day in that shape (their record's `timed`): what
auto tries for a line without one (no `:` between digits), such as every plain line."""
# The Go runtime's `panic: ` / `fatal error: `: golog groups the goroutine trace after it. A line shape of its own
# would cost every word-led line a second look; two prefixes checked only for letters cost nothing measurable.
_GO_CRASH: Final[tuple[str, ...]] = ("golog",)
_GO_CRASH_HEADS: Final = ("panic: ", "fatal error: ")
# The shapes as list indexes (compiled, an Enum member's hash is a Python-level call), in this order, then the crash.
_SHAPES: Final[tuple[Shape, ...]] = (
    Shape.OBJECT, Shape.ANGLE, Shape.HASH, Shape.BRACKET, Shape.DASHED_DATE, Shape.SLASHED_DATE, Shape.DIGITS, Shape.WORD,
    Shape.OTHER,
)
_OBJECT: Final = 0
_ANGLE: Final = 1
_HASH: Final = 2
_BRACKET: Final = 3
_DASHED_DATE: Final = 4
_SLASHED_DATE: Final = 5
_DIGITS: Final = 6
_WORD: Final = 7
_OTHER: Final = 8
_CRASH: Final = 9
_BY_SHAPE: Final[tuple[tuple[str, ...], ...]] = (*(CANDIDATES[shape] for shape in _SHAPES), _GO_CRASH)
_TIMELESS_BY_SHAPE: Final[tuple[tuple[str, ...], ...]] = (*(TIMELESS[shape] for shape in _SHAPES), _GO_CRASH)


def shape_of(text: str) -> int:
    """The index of `text`'s shape in `_BY_SHAPE` (Shape's order, then a Go crash report's first line), by character
    codes (compiled: no slice, no str comparison)."""
    size = len(text)
    if size == 0:
        return _OTHER
    code = ord(text[0])
    if code in (32, 9):  # (a tuple literal: compiled, two comparisons)
        text = text.lstrip(" \t")
        size = len(text)
        if size == 0:
            return _OTHER
        code = ord(text[0])
    if code == 123:  # {
        return _OBJECT
    if code == 60:  # <
        return _ANGLE
    if code == 35:  # #
        return _HASH
    if code == 91:  # [
        return _BRACKET
    if 48 <= code <= 57:
        if size > 4:
            fifth = ord(text[4])
            if fifth == 45:  # -
                return _DASHED_DATE
            if fifth == 47:  # /
                return _SLASHED_DATE
        return _DIGITS
    if code < 128:
        if not 97 <= (code | 32) <= 122:
            return _OTHER
        if code in (112, 102) and text.startswith(_GO_CRASH_HEADS):  # p, f
            return _CRASH
        return _WORD
    return _WORD if text[0].isalpha() else _OTHER


def candidates(text: str) -> tuple[str, ...]:
    """The formats `text` could be in, most likely first."""
    return _BY_SHAPE[shape_of(text)]


class Prober:
    """Finds the parser for a line among all formats, keeping one parser instance per format for the stream."""

    def __init__(self, env: ParseEnv) -> None:
        self.env = env
        self.parsers: dict[str, Parser] = {}
        # per shape index, the stream's parsers to try: for lines with a time of day, and for lines without one
        self._timed_lists: list[list[Parser] | None] = [None] * len(_BY_SHAPE)
        self._timeless_lists: list[list[Parser] | None] = [None] * len(_BY_SHAPE)
        self._text: TextParser | None = None  # parsers["text"], kept typed: every line no format claims asks for it

    def parser(self, name: str) -> Parser:
        """The stream's parser for format `name`, made on first use."""
        parser = self.parsers.get(name)
        if parser is None:
            parser = self.parsers[name] = parser_class(name)(self.env)
            if isinstance(parser, JsonParser):
                parser.defer_docker = True
        return parser

    def probe(self, text: str, skip: Parser | None = None) -> tuple[Parser, Event] | None:
        """The first candidate parser that accepts `text`, with its event; None when none does.

        Whether the line writes a time of day (a `:` between digits) is looked for once, here: a line without one is
        not offered to the formats whose lines always have one, and the text parser is asked to learn a layout from
        it only when its first look (the same colon, or its digits) finds a sign of a date-time."""
        shape = shape_of(text)
        if shape == _OBJECT:
            colon = -1
            parsers = self._parsers(shape, timed=True)
        else:
            colon = clock_colon(text, 1, len(text))
            parsers = self._parsers(shape, timed=colon != -1)
        for parser in parsers:
            if parser is skip:
                continue
            event = parser.parse(text)
            if event is not None:
                if shape == _OBJECT:
                    return parser, event
                if event["severity_number"] == 0 or event["timestamp"] == self.env.clock.observed:
                    return self._better_as_text(text, parser, event, colon)
                return parser, event
        if shape == _OBJECT:
            return None  # a broken JSON line is json's parse error, not text
        text_parser = self.text_parser()
        if text_parser.layouts:
            event = text_parser.parse(text)
            if event is not None:
                return text_parser, event
        if not _head_may_hold_time(text, colon):
            return None
        event = text_parser.learn(text, True)
        return None if event is None else (text_parser, event)

    def _parsers(self, shape: int, *, timed: bool) -> list[Parser]:
        """The stream's parsers for a shape index, for lines with a time of day or without one."""
        lists = self._timed_lists if timed else self._timeless_lists
        parsers = lists[shape]
        if parsers is None:
            names = _BY_SHAPE[shape] if timed else _TIMELESS_BY_SHAPE[shape]
            parsers = lists[shape] = [self.parser(name) for name in names if name in PARSERS]
        return parsers

    def text_parser(self) -> TextParser:
        """The stream's generic text parser (the fallback before plain)."""
        parser = self._text
        if parser is None:
            made = self.parser("text")
            assert isinstance(made, TextParser)
            parser = self._text = made
        return parser

    def _better_as_text(self, text: str, parser: Parser, event: Event, colon: int) -> tuple[Parser, Event]:
        """`event` from `parser`, or the text parser's reading of `text` when that finds what `parser` did not: a level
        (`2026/12/01 12:00:14 [error] ...` read by golog without one) or the line's own time. `colon`: the line's first
        `:` between digits, or -1."""
        if not _head_may_hold_time(text, colon):
            return parser, event
        text_parser = self.text_parser()
        found = text_parser.candidate(text, True)
        if found is None:
            return parser, event
        layout, candidate = found
        observed = self.env.clock.observed
        if (candidate["severity_number"] and not event["severity_number"]) or (
                event["timestamp"] == observed and candidate["timestamp"] != observed):
            text_parser.adopt(layout)
            return text_parser, candidate
        return parser, event

    def reject_reason(self, text: str) -> tuple[str, str] | None:
        """(format, reason) for a line that claims a format by its shape but breaks it (`{` but not JSON); else None."""
        if text.lstrip(" \t")[:1] == "{":
            json_parser = self.parser("json")
            if json_parser.parse(text) is None and JsonParser.is_object(text):
                return "docker", self.parser("docker").reject_reason(text)  # deferred to docker, which refused it
            return "json", json_parser.reject_reason(text)
        return None


def _head_may_hold_time(text: str, colon: int) -> bool:
    """The text parser's first look (shipper.parsers.layout.scan.may_hold_time), given the line's first `:` between
    digits (-1: none)."""
    return 0 <= colon < FIRST_LOOK or digits_may_hold_time(text, FIRST_LOOK)
