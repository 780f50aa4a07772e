"""golog: Go's standard `log` package, `[prefix]2009/01/23 01:23:23[.123123] [/path/file.go:23: ]message`.

Local time unless the program set LUTC, so the input's zone applies. The file prefix is matched up to
`.go:NN: `, so Windows paths with a drive colon (`C:/src/main.go:12: `) are taken whole.
"""

import re
from typing import Any

from shipper.parsers.base import ORIGINAL, TIMEZONE, Event, ParseEnv, Parser, timestamp_unparsed

_LINE = re.compile(r"(.{0,64}?)(\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))? (?:(\S+\.go):(\d+): )?(.*)", re.S)


class GoLogParser(Parser):
    """Go `log` lines; a prefix before the date (log.New(w, "prefix", flags)) is kept as `log.prefix`."""

    name = "golog"

    def __init__(self, env: ParseEnv) -> None:
        super().__init__(env)
        self._heads: dict[str, str] = {}

    def parse(self, text: str) -> Event | None:
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
        head = self._heads.get(key)
        if head is None:
            try:
                head = self.clock.local_head((int(year), int(month), int(day), int(hour), int(minute), int(second)))
            except ValueError:
                head = ""  # an impossible date: observed time, flagged
            if len(self._heads) > 4096:
                self._heads.clear()
            self._heads[key] = head
        if path is None:
            attributes: dict[str, Any] = {TIMEZONE: self.clock.zone_name, ORIGINAL: text}
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
