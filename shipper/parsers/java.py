"""java: log4j / logback / Spring Boot pattern lines, with the stack traces that follow joined to the event.

Covers `%d [%t] %-5level %logger - %msg`, `%d %-5p [%t] %c{1}:%L - %m`, Spring Boot's
`%d  LEVEL PID --- [thread] logger : msg` and logback's default time-only `HH:mm:ss.SSS [thread] LEVEL logger - msg`
(the date is then the observed date). Times without a zone are in the input's zone."""

from typing import Any, Final

from shipper.parsers.base import ORIGINAL, TIMEZONE, Event, ParseEnv, Parser, level_number, timestamp_unparsed
from shipper.parsers.bounded import Bounded
from shipper.parsers.clock import HeadCache
from shipper.parsers.declaration import Format, Shape
from shipper.parsers.stacktrace import attach, java_continues

_LINE = Bounded(
    r"(?:(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)(?:[.,](\d{1,9}))?(Z|[+-]\d\d:?\d\d)?|(\d\d:\d\d:\d\d)[.,](\d{3}))"
    r"\s++(?:\[([^\]\n]*+)\]\s++)?(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|SEVERE|FINEST|FINER|FINE|CONFIG)\s+"
    r"(?:(\d++)\s++---\s++)?(?:\[\s*+([^\]\n]*+)\]\s++)?(?:([\w.$]++(?::\d++)?)\s*+[-:]\s)?([^\n]*)"
)


class JavaParser(Parser):
    """log4j/logback lines; following stack trace lines join the event."""

    name = "java"
    joins_lines = True

    def __init__(self, env: ParseEnv) -> None:
        super().__init__(env)
        self._heads = HeadCache()

    def parse(self, text: str) -> Event | None:
        if not text[:1].isdigit():
            return None  # cheap refusal (auto probes plain text here): the pattern starts with a date or a time
        match = _LINE.match(text)
        if match is None:
            return None
        attributes: dict[str, Any] = {ORIGINAL: text}
        if match[1] is not None:
            key = match[1] + (match[3] or "")
            fraction = match[2]
        else:
            key = self.clock.observed_date + " " + match[4]  # time only: today, in the input's zone
            fraction = match[5]
        head = self._heads.known.get(key)
        if head is None:
            stamp = self.clock.iso(key)
            head = "" if stamp is None else stamp[0][:19]  # "": an impossible date, observed time, flagged
            self._heads.put(key, head)
        if match[3] is None:
            attributes[TIMEZONE] = self.clock.zone_name
        thread = match[6] or match[9]
        if thread:
            attributes["thread.name"] = thread.strip()
        if match[8]:
            attributes["process.pid"] = int(match[8])
        if match[10]:
            attributes["log.logger"] = match[10]
        level = match[7]
        event = {
            "timestamp": f"{head}.{(fraction or ''):0<9}Z",
            "severity_text": level,
            "severity_number": level_number(level),
            "body": match[11],
            "attributes": attributes,
        }
        if not head:
            timestamp_unparsed(event, self.clock)
        if "\n" in text:
            return attach(event, text)
        return event

    def continues(self, text: str) -> bool:
        return java_continues(text)

    def parse_joined(self, text: str, first: Event) -> Event:
        return attach(first, text)

    def reject_reason(self, text: str) -> str:
        return "the line does not start like a log4j/logback record (date [thread] LEVEL logger - message)"


_PROBES: Final = {Shape.BRACKET: 30, Shape.DASHED_DATE: 30, Shape.DIGITS: 20, Shape.WORD: 60}
FORMAT: Format = Format(JavaParser, probes=_PROBES, timed=frozenset(_PROBES))
