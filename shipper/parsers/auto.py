"""auto: which format a line is in, by cheap ordered probes.

The first characters pick a short list of candidate formats (`{` json, `<` syslog, `#` IIS directives,
`dddd-` dated lines, `dddd/` Go log, ...); each candidate's own parser then confirms. The pipeline asks
only when the stream's settled format rejects a line, so a file in one format pays for one parse per line.
Which formats are candidates for which shape, in which order, each parser declares (`probes` of its record,
shipper.parsers.declaration); the lists are derived once, here, when the module is imported.
"""

from typing import Final

from shipper.parsers.base import Event, ParseEnv, Parser
from shipper.parsers.declaration import Shape, candidates_by_shape
from shipper.parsers.jsonlines import JsonParser
from shipper.parsers.registry import FORMATS, PARSERS, parser_class
from shipper.parsers.text import TextParser

CANDIDATES: Final[dict[Shape, tuple[str, ...]]] = candidates_by_shape(FORMATS)
"""For each line shape, the formats auto tries, best first (json refuses docker-shaped records in auto mode, so each
`{` line is decoded once)."""
_OBJECT: Final[tuple[str, ...]] = CANDIDATES[Shape.OBJECT]
_ANGLE: Final[tuple[str, ...]] = CANDIDATES[Shape.ANGLE]
_HASH: Final[tuple[str, ...]] = CANDIDATES[Shape.HASH]
_BRACKET: Final[tuple[str, ...]] = CANDIDATES[Shape.BRACKET]
_DASHED_DATE: Final[tuple[str, ...]] = CANDIDATES[Shape.DASHED_DATE]
_SLASHED_DATE: Final[tuple[str, ...]] = CANDIDATES[Shape.SLASHED_DATE]
_DIGITS: Final[tuple[str, ...]] = CANDIDATES[Shape.DIGITS]
_WORDS: Final[tuple[str, ...]] = CANDIDATES[Shape.WORD]
_OTHER: Final[tuple[str, ...]] = CANDIDATES[Shape.OTHER]
# The Go runtime's `panic: ` / `fatal error: `: golog groups the goroutine trace after it. A line shape of its own
# would cost every word-led line a second look; two prefixes checked only for letters cost nothing measurable.
_GO_CRASH: Final[tuple[str, ...]] = ("golog",)
_GO_CRASH_HEADS: Final = ("panic: ", "fatal error: ")


def candidates(text: str) -> tuple[str, ...]:
    """The formats `text` could be in, most likely first."""
    first = text[:1]
    if first in " \t" and first:
        text = text.lstrip(" \t")
        first = text[:1]
    if first == "{":
        return _OBJECT
    if first == "<":
        return _ANGLE
    if first == "#":
        return _HASH
    if first == "[":
        return _BRACKET
    if "0" <= first <= "9":
        fifth = text[4:5]
        if fifth == "-":
            return _DASHED_DATE
        if fifth == "/":
            return _SLASHED_DATE
        return _DIGITS
    if first.isalpha():
        if text.startswith(_GO_CRASH_HEADS):
            return _GO_CRASH
        return _WORDS
    return _OTHER


class Prober:
    """Finds the parser for a line among all formats, keeping one parser instance per format for the stream."""

    def __init__(self, env: ParseEnv) -> None:
        self.env = env
        self.parsers: dict[str, Parser] = {}
        self._lists: dict[tuple[str, ...], list[Parser]] = {}
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
        """The first candidate parser that accepts `text`, with its event; None when none does."""
        names = candidates(text)
        parsers = self._lists.get(names)
        if parsers is None:
            parsers = self._lists[names] = [self.parser(name) for name in names if name in PARSERS]
        for parser in parsers:
            if parser is skip:
                continue
            event = parser.parse(text)
            if event is not None:
                if event["severity_number"] == 0 or event["timestamp"] == self.env.clock.observed:
                    return self._better_as_text(text, parser, event)
                return parser, event
        if text.lstrip(" \t")[:1] == "{":
            return None  # a broken JSON line is json's parse error, not text
        text_parser = self.text_parser()
        event = text_parser.parse(text)
        if event is None:
            event = text_parser.learn(text)
        return None if event is None else (text_parser, event)

    def text_parser(self) -> TextParser:
        """The stream's generic text parser (the fallback before plain)."""
        parser = self._text
        if parser is None:
            made = self.parser("text")
            assert isinstance(made, TextParser)
            parser = self._text = made
        return parser

    def _better_as_text(self, text: str, parser: Parser, event: Event) -> tuple[Parser, Event]:
        """`event` from `parser`, or the text parser's reading of `text` when that finds what `parser` did not: a level
        (`2026/12/01 12:00:14 [error] ...` read by golog without one) or the line's own time."""
        if text.lstrip(" \t")[:1] == "{":
            return parser, event
        text_parser = self.text_parser()
        found = text_parser.candidate(text)
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
