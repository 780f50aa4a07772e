"""python: lines written by Python's `logging` with its default and common formats; tracebacks that follow
an event are joined to it. asctime is `2003-07-08 16:49:45,896` (comma milliseconds), local time."""

from typing import Any

from shipper.parsers.base import ORIGINAL, TIMEZONE, Event, ParseEnv, Parser, level_number, timestamp_unparsed
from shipper.parsers.bounded import Bounded
from shipper.parsers.clock import HeadCache
from shipper.parsers.declaration import Format, Shape
from shipper.parsers.stacktrace import attach, python_continues

_LEVEL = r"(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL|NOTSET|Level \d+)"
_ASCTIME = r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:[,.](\d{3,6}))?"
_FORMATS = (
    # %(asctime)s - %(name)s - %(levelname)s - %(message)s
    Bounded(rf"{_ASCTIME} - (\S++) - {_LEVEL} - ([^\n]*)"),
    # %(asctime)s %(levelname)s %(name)s: %(message)s, also with [level] and level padding
    Bounded(rf"{_ASCTIME}\s++\[?{_LEVEL}\]?\s++([\w.\-<>]++):\s([^\n]*)"),
    # %(asctime)s:%(levelname)s:%(name)s:%(message)s
    Bounded(rf"{_ASCTIME}:{_LEVEL}:([^:\n]*+):([^\n]*)"),
    # Flask: [%(asctime)s] %(levelname)s in %(module)s: %(message)s
    Bounded(rf"\[{_ASCTIME}\] {_LEVEL} in ([\w.]++): ([^\n]*)"),
)
_LEVEL_FIRST = (1, 2, 3)  # formats whose groups come as (level, name) rather than (name, level)
# basicConfig's default: %(levelname)s:%(name)s:%(message)s (no time)
_BASIC = Bounded(rf"{_LEVEL}:([\w.\-<>]*+):([^\n]*)")


class PythonParser(Parser):
    """Python logging lines; following traceback lines join the event."""

    name = "python"
    joins_lines = True

    def __init__(self, env: ParseEnv) -> None:
        super().__init__(env)
        self._heads = HeadCache()

    def parse(self, text: str) -> Event | None:
        event = self._first_line(text)
        if event is not None and "\n" in text:
            return attach(event, text)
        return event

    def _first_line(self, text: str) -> Event | None:
        if not text:
            return None
        code = ord(text[0])  # cheap refusal: a date, "[date]" or a LEVEL (compiled: a code point, no slice, no call)
        if not (48 <= code <= 57 or code == 91 or 65 <= code <= 90) and (code < 128 or not (
                text[0].isdigit() or text[0].isupper())):
            return None
        attributes: dict[str, Any] = {ORIGINAL: text}
        for index, pattern in enumerate(_FORMATS):  # noqa: B007 - after the loop, index names the format that matched
            match = pattern.match(text)
            if match is not None:
                break
        else:
            match = _BASIC.match(text)
            if match is None:
                return None
            level, logger, message = match[1], match[2], match[3]
            timestamp = self.clock.observed
            if logger:
                attributes["log.logger"] = logger
            return {"timestamp": timestamp, "severity_text": level, "severity_number": level_number(level),
                    "body": message, "attributes": attributes}
        if index in _LEVEL_FIRST:
            level, logger = match[3], match[4]
        else:
            logger, level = match[3], match[4]
        key = match[1]
        head = self._heads.known.get(key)
        if head is None:
            stamp = self.clock.iso(key)
            head = "" if stamp is None else stamp[0][:19]  # "": an impossible date, observed time, flagged
            self._heads.put(key, head)
        attributes[TIMEZONE] = self.clock.zone_name
        attributes["log.logger"] = logger
        event = {
            "timestamp": f"{head}.{(match[2] or ''):0<9}Z",
            "severity_text": level,
            "severity_number": level_number(level) if not level.startswith("Level") else 0,
            "body": match[5],
            "attributes": attributes,
        }
        return event if head else timestamp_unparsed(event, self.clock)

    def continues(self, text: str) -> bool:
        return python_continues(text)

    def parse_joined(self, text: str, first: Event) -> Event:
        return attach(first, text)

    def reject_reason(self, text: str) -> str:
        return "the line does not start like a Python logging record (asctime - name - level - message, level:name:message, ...)"


# basicConfig's `INFO:root:message` has no time (it starts with a letter); every format that starts otherwise has one
FORMAT: Format = Format(
    PythonParser,
    probes={Shape.BRACKET: 20, Shape.DASHED_DATE: 20, Shape.WORD: 20},
    timed=frozenset({Shape.BRACKET, Shape.DASHED_DATE}),
)
