"""golog: Go's standard `log` package, `[prefix]2009/01/23 01:23:23[.123123] [/path/file.go:23: ]message`.

Local time unless the program set LUTC, so the input's zone applies. The file prefix is matched up to
`.go:NN: `, so Windows paths with a drive colon (`C:/src/main.go:12: `) are taken whole.
"""

import re
from typing import Any, Final

from shipper.parsers.base import ORIGINAL, TIMEZONE, Event, ParseEnv, Parser, timestamp_unparsed
from shipper.parsers.bounded import Bounded
from shipper.parsers.clock import HeadCache
from shipper.parsers.declaration import Format, Shape

_LINE: Final = Bounded(
    r"(.{0,64}?)(\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))? (?:(\S+\.go):(\d+): )?(.*)", re.S
)
_ZEROS: Final = "000000000"
Fields = tuple[str, str | None, str | None, str]
"""fraction ("" when none), file path, line number, message"""


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


_fast = True
"""Whether `parse` tries `_split_line` first; tests turn it off to compare with the pattern path (a module variable,
not a swapped function: a compiled module calls its own functions directly, which swapping would not reach)."""


class GoLogParser(Parser):
    """Go `log` lines; a prefix before the date (log.New(w, "prefix", flags)) is kept as `log.prefix`."""

    name = "golog"

    def __init__(self, env: ParseEnv) -> None:
        super().__init__(env)
        self._heads = HeadCache()

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
                    lineno = int(file_line or "")
                    zone = self.clock.zone_name
                    attributes = {TIMEZONE: zone, ORIGINAL: text, "code.filepath": file_path, "code.lineno": lineno}
                return {
                    "timestamp": f"{head}.{digits}{_ZEROS[len(digits):]}Z",
                    "severity_text": None,
                    "severity_number": 0,
                    "body": rest,
                    "attributes": attributes,
                }
        # cheap refusal: a `dddd/dd/` date must start within the first 68 characters
        slash = text.find("/", 4, 73)
        while slash != -1 and not (text[slash + 3:slash + 4] == "/" and text[slash - 4:slash].isdigit()):
            slash = text.find("/", slash + 1, 73)
        if slash == -1:
            return None
        match = _LINE.match(text)
        if match is None:
            return None
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
        event = {
            "timestamp": head + "." + fraction.ljust(9, "0") + "Z" if fraction else head + ".000000000Z",
            "severity_text": None,
            "severity_number": 0,
            "body": message,
            "attributes": attributes,
        }
        return event if head else timestamp_unparsed(event, self.clock)

    def reject_reason(self, text: str) -> str:
        return "the line is not a Go log line (yyyy/mm/dd hh:mm:ss message)"


FORMAT: Format = Format(
    GoLogParser,
    probes={Shape.BRACKET: 40, Shape.DASHED_DATE: 60, Shape.SLASHED_DATE: 10, Shape.DIGITS: 30, Shape.WORD: 50, Shape.OTHER: 20},
)
