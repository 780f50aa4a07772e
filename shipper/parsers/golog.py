"""golog: Go's standard `log` package, `[prefix]2009/01/23 01:23:23[.123123] [/path/file.go:23: ]message`, and the
Go runtime's crash reports that such programs write to the same stream.

Local time unless the program set LUTC, so the input's zone applies. The file prefix is matched up to
`.go:NN: `, so Windows paths with a drive colon (`C:/src/main.go:12: `) are taken whole.

Levels: a message whose first word is a level word (TRACE DEBUG INFO NOTICE WARN WARNING ERROR ERR SEVERE CRITICAL
CRIT FATAL ALERT EMERG PANIC, in any case, bare, in `[]` or `<>`, with or without a trailing colon) has that level:
severity_text is the word as written (without its brackets and colon), severity_number as schemas/severity.py maps it.
The body keeps the message whole, level word included (as Loki's detected_level leaves the line intact): the word is
part of what the program wrote, and a search for the message finds it as written.

Panics: the runtime writes `panic: ...` (or `fatal error: ...`) at the start of a line, then the goroutines' traces
(`goroutine N [state]:`, function lines, tab-indented `file:line +0x..` lines, blank lines, `exit status 2` from `go
run`). Such a line starts an event that takes the trace lines after it (the pipeline holds it, see base.JOINS);
the event is the panic line as body, severity FATAL, exception.type `panic` or `fatal error`, exception.message the
rest of the line, exception.stacktrace the panic as printed (its line, then the trace). The line has no timestamp: as
Splunk times a line without one, it gets the timestamp of the stream's previous golog line (the last time the
program itself vouched for, and the panic came after it), or the observed time when no golog line came before. A
golog line whose message is a panic (`2026/03/14 10:00:02 panic: ...`, a recover handler logging
`"panic: %v\n%s", r, debug.Stack()`) takes the trace after it the same way, with its own timestamp.
"""

import re
from itertools import product
from typing import Any, Final

from schemas.severity import severity_from_text
from shipper.parsers.base import JOINS, ORIGINAL, TIMEZONE, Event, ParseEnv, Parser, timestamp_unparsed
from shipper.parsers.bounded import Bounded
from shipper.parsers.clock import HeadCache
from shipper.parsers.declaration import Format, Shape
from shipper.parsers.stacktrace import attach_go, go_continues

_LINE: Final = Bounded(
    r"(.{0,64}?)(\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))? (?:(\S+\.go):(\d+): )?(.*)", re.S
)
_ZEROS: Final = "000000000"
Fields = tuple[str, str | None, str | None, str]
"""fraction ("" when none), file path, line number, message"""
_LEVEL_WORDS: Final = (
    "TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "WARNING", "ERROR", "ERR", "SEVERE", "CRITICAL", "CRIT", "FATAL",
    "ALERT", "EMERG", "PANIC",
)
_LEVEL_NUMBERS: Final[dict[str, int]] = {
    "".join(letters): severity_from_text(word)
    for word in _LEVEL_WORDS
    for letters in product(*((letter.upper(), letter.lower()) for letter in word))
}
"""every spelling of every level word in any case (822 of them: one lookup instead of an upper() per line)"""
_SECOND_LETTERS: Final[tuple[int, ...]] = tuple(
    sum({1 << (ord(word[1].lower()) - 97) for word in _LEVEL_WORDS if word[0].lower() == first})
    for first in "abcdefghijklmnopqrstuvwxyz"
)
"""per first letter of a level word (a-z), a bit per second letter that follows it in one (`er` of ERROR, `em` of
EMERG): most messages' first two letters are in no level word, which two character tests tell"""
_WORD_LIMIT: Final = 12
"""a level word, its brackets and its colon fill at most 11 characters (`[CRITICAL]:`); the space after it comes before"""
_FATAL: Final = severity_from_text("FATAL")
"""(a name of this module: compiled, a name imported from the interpreted schemas package is a dict lookup per use)"""
_PANICS: Final = ("panic: ", "fatal error: ")
"""how the Go runtime starts a crash report (its own spelling: lower case, at the start of a line)"""


def _split_line(text: str) -> Fields | None:
    """What `_LINE` matches after a date-time that fills `text[:19]` (the caller checked it), by string operations;
    None for anything unusual (no fraction digits, odd whitespace, non-ASCII digits), which then goes through `_LINE`.
    Whenever it answers, it answers what `_LINE` would (tests/parsers/test_golog.py)."""
    after = text[19:20]
    if after == " ":
        fraction = ""
        start = 20
    elif after == ".":
        space = text.find(" ", 20, 30)
        fraction = text[20:space]
        if space == -1 or not fraction or not fraction.isdigit() or not fraction.isascii():
            return None
        start = space + 1
    else:
        return None
    space = text.find(" ", start)
    if space == -1 or text[space - 1] != ":":
        return fraction, None, None, text[start:]
    # `file.go:NN: ` is one word ending in a colon; the last colon before that one ends the path
    colon = text.rfind(":", start, space - 1)
    path = text[start:colon]
    number = text[colon + 1:space - 1]
    if colon == -1 or not path.endswith(".go") or len(path) < 4 or not number.isdigit():
        return fraction, None, None, text[start:]
    if not number.isascii() or not text[start:space].isprintable():  # other digits or whitespace: the pattern decides
        return None
    return fraction, path, number, text[space + 1:]


def _ascii_number(digits: str) -> int:
    """int(digits) for ASCII digits (`_split_line` checked them), read character by character: compiled, a few
    instructions a digit, where int() parses through the generic number constructor (as much as the level check)."""
    value = 0
    for index in range(len(digits)):
        value = value * 10 + ord(digits[index]) - 48
    return value


def level_of(message: str) -> tuple[str, int]:
    """The level word `message` starts with, as written but without its brackets and colon, and its severity number;
    ("", 0) when its first word is no level word."""
    if len(message) < 3:
        return "", 0
    # (ord(text[i]) compiles to a read of the character: no string made, unlike the slice and lookup below)
    opener = ord(message[0])
    start = 1 if opener in (91, 60) else 0  # after a "[" or "<" (a tuple: compiled, two comparisons)
    letter = (ord(message[start]) | 32) - 97  # a letter's position in the alphabet, either case; out of 0-25 if none
    follower = (ord(message[start + 1]) | 32) - 97
    if not (0 <= letter < 26 and 0 <= follower < 26 and _SECOND_LETTERS[letter] >> follower & 1):
        return "", 0
    end = message.find(" ", 0, _WORD_LIMIT)
    if end == -1:
        end = len(message)
        if end >= _WORD_LIMIT:
            return "", 0
    word = message[:end]
    number = _LEVEL_NUMBERS.get(word, 0)
    if number:
        return word, number
    if end < 3:
        return "", 0
    if word[end - 1] == ":":  # `ERROR:`, `[ERROR]:`
        word = word[:end - 1]
    first = word[0]
    if (first == "[" and word[-1] == "]") or (first == "<" and word[-1] == ">"):
        word = word[1:-1]
    elif len(word) == end:
        return "", 0
    number = _LEVEL_NUMBERS.get(word, 0)
    return (word, number) if number else ("", 0)


def _as_panic(event: Event, message: str) -> Event:
    """`event`, whose message starts a runtime crash report, with the exception it names, marked to take the trace
    lines that follow (base.JOINS). A message of several lines (grouped by the input's multiline pattern) is the whole
    report: its first line is then the body, all of it the stacktrace, as when the pipeline joins the lines."""
    line, newline, _ = message.partition("\n")
    kind, _, what = line.partition(": ")
    attributes = event["attributes"]
    attributes["exception.type"] = kind
    attributes["exception.message"] = what
    if newline:
        event["body"] = line
        attributes["exception.stacktrace"] = message
    event[JOINS] = True
    return event


_fast = True
"""Whether `parse` tries `_split_line` first; tests turn it off to compare with the pattern path (a module variable,
not a swapped function: a compiled module calls its own functions directly, which swapping would not reach)."""


class GoLogParser(Parser):
    """Go `log` lines; a prefix before the date (log.New(w, "prefix", flags)) is kept as `log.prefix`. A panic's
    trace lines join the panic's event."""

    name = "golog"

    def __init__(self, env: ParseEnv) -> None:
        super().__init__(env)
        self._heads = HeadCache()
        self._last_timestamp = ""
        """the timestamp of the stream's last golog line: a panic's line has none of its own"""

    def parse(self, text: str) -> Event | None:
        # the usual line: no prefix, a date-time seen before (so valid) in text[:19], the rest split without the pattern
        head = self._heads.known.get(text[:19])
        if head:
            fields = _split_line(text) if _fast else None
            if fields is not None:
                # names of their own: mypyc types a local by its first assignment, and the pattern's groups may be None
                digits, file_path, file_line, rest = fields
                if file_path is None:
                    attributes: dict[str, Any] = {TIMEZONE: self.clock.zone_name, ORIGINAL: text}
                else:
                    lineno = _ascii_number(file_line or "")
                    zone = self.clock.zone_name
                    attributes = {TIMEZONE: zone, ORIGINAL: text, "code.filepath": file_path, "code.lineno": lineno}
                level, number = level_of(rest)
                stamp = f"{head}.{digits}{_ZEROS[len(digits):]}Z"
                self._last_timestamp = stamp
                event: Event = {
                    "timestamp": stamp,
                    "severity_text": level or None,
                    "severity_number": number,
                    "body": rest,
                    "attributes": attributes,
                }
                if number == _FATAL and rest.startswith(_PANICS):
                    return _as_panic(event, rest)
                return event
        # cheap refusal: a `dddd/dd/` date must start within the first 68 characters
        slash = text.find("/", 4, 73)
        while slash != -1 and not (text[slash + 3:slash + 4] == "/" and text[slash - 4:slash].isdigit()):
            slash = text.find("/", slash + 1, 73)
        if slash == -1:
            return self._runtime_line(text)
        match = _LINE.match(text)
        if match is None:
            return self._runtime_line(text)
        prefix, year, month, day, hour, minute, second, fraction, path, line, message = match.groups()
        start = len(prefix)
        key = text[start:start + 19]
        head = self._heads.known.get(key)
        if head is None:
            try:
                head = self.clock.local_head((int(year), int(month), int(day), int(hour), int(minute), int(second)))
            except ValueError:
                head = ""  # an impossible date: observed time, flagged
            self._heads.put(key, head)
        if path is None:
            attributes = {TIMEZONE: self.clock.zone_name, ORIGINAL: text}
        else:
            attributes = {TIMEZONE: self.clock.zone_name, ORIGINAL: text, "code.filepath": path, "code.lineno": int(line)}
        if prefix:
            attributes["log.prefix"] = prefix
        level, number = level_of(message)
        stamp = head + "." + fraction.ljust(9, "0") + "Z" if fraction else head + ".000000000Z"
        event = {
            "timestamp": stamp,
            "severity_text": level or None,
            "severity_number": number,
            "body": message,
            "attributes": attributes,
        }
        if not head:
            return timestamp_unparsed(event, self.clock)
        self._last_timestamp = stamp
        if number == _FATAL and message.startswith(_PANICS):
            return _as_panic(event, message)
        return event

    def _runtime_line(self, text: str) -> Event | None:
        """The event a Go crash report starts with (`panic: ...`, `fatal error: ...`), or None for any other line."""
        if not text.startswith(_PANICS):
            return None
        stamp = self._last_timestamp
        if stamp:
            attributes: dict[str, Any] = {TIMEZONE: self.clock.zone_name, ORIGINAL: text}
        else:
            attributes = {ORIGINAL: text}
        level, number = level_of(text)
        event: Event = {
            "timestamp": stamp or self.clock.observed,
            "severity_text": level,
            "severity_number": number,
            "body": text,
            "attributes": attributes,
        }
        return _as_panic(event, text)

    def continues(self, text: str) -> bool:
        return go_continues(text)

    def parse_joined(self, text: str, first: Event) -> Event:
        return attach_go(first, text)

    def reject_reason(self, text: str) -> str:
        return "the line is not a Go log line (yyyy/mm/dd hh:mm:ss message)"


_PROBES: Final = {
    Shape.BRACKET: 40, Shape.DASHED_DATE: 60, Shape.SLASHED_DATE: 10, Shape.DIGITS: 30, Shape.WORD: 50, Shape.OTHER: 20,
}
# Timed in every shape: a crash report's first line (`panic: `, no time) is not a word-led line to auto, which routes
# it to golog by itself (shipper.parsers.auto)
FORMAT: Format = Format(GoLogParser, probes=_PROBES, timed=frozenset(_PROBES))
