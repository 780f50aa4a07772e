"""apache_error: the Apache httpd error log, 2.2 (`[Sun Dec 04 04:47:44 2005] [notice] text`) and 2.4
(`[Fri Sep 09 10:42:29.902022 2011] [core:error] [pid 35708:tid 4328636416] [client 1.2.3.4:5] text`).
Times carry no zone: the input's zone applies."""

import re
from typing import Any

from shipper.parsers.base import ORIGINAL, TIMEZONE, Event, ParseEnv, Parser, level_number, timestamp_unparsed
from shipper.parsers.bounded import Bounded
from shipper.parsers.clock import MONTHS, HeadCache
from shipper.parsers.declaration import Format, Shape

_LINE = Bounded(
    r"\[(?:[A-Z][a-z]{2} )?([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))? (\d{4})\] "
    r"\[(?:([\w-]++):)?(\w++)\](?: \[pid (\d++)(?::tid (\d++))?\])?(?: \[client ([^\]]++)\])? ?(.*)",
    re.S,
)


class ApacheErrorParser(Parser):
    """Apache error log lines; the module and level become attributes and severity."""

    name = "apache_error"

    def __init__(self, env: ParseEnv) -> None:
        super().__init__(env)
        self._heads = HeadCache()

    def parse(self, text: str) -> Event | None:
        match = _LINE.match(text)
        if match is None:
            return None
        month = MONTHS.get(match[1])
        if month is None:
            return None
        key = text[match.start(1):match.end(7)]
        head = self._heads.known.get(key)
        if head is None:
            try:
                head = self.clock.local_head((int(match[7]), month, int(match[2]), int(match[3]), int(match[4]), int(match[5])))
            except ValueError:
                head = ""  # an impossible date: observed time, flagged
            self._heads.put(key, head)
        attributes: dict[str, Any] = {TIMEZONE: self.clock.zone_name, ORIGINAL: text}
        if match[8]:
            attributes["apache.module"] = match[8]
        if match[10]:
            attributes["process.pid"] = int(match[10])
        if match[11]:
            attributes["thread.id"] = int(match[11])
        if match[12]:
            client = match[12]
            attributes["client.address"] = client.rsplit(":", 1)[0] if client.count(":") == 1 else client
        level = match[9][:64]
        event = {
            "timestamp": f"{head}.{(match[6] or ''):0<9}Z",
            "severity_text": level,
            "severity_number": level_number(level),
            "body": match[13],
            "attributes": attributes,
        }
        return event if head else timestamp_unparsed(event, self.clock)

    def reject_reason(self, text: str) -> str:
        return "the line is not an Apache error log line ([date] [level] message)"


FORMAT: Format = Format(ApacheErrorParser, probes={Shape.BRACKET: 10}, timed=frozenset({Shape.BRACKET}))
