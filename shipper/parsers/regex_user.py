"""regex: the user's pattern (`[inputs.regex] pattern`) with named groups. `timestamp`, `level` and `message`
fill the schema fields; every other named group becomes an attribute. `timestamp_format` is a strptime
format (`%f` for fractions, `%z` for a zone); empty accepts ISO 8601 / RFC 3339. The pattern is compiled
and checked when the config is validated (shipper.config)."""

from datetime import datetime
from typing import Any

from schemas.severity import severity_from_text
from shipper.parsers.base import ORIGINAL, TIMEZONE, Event, Parser
from shipper.parsers.declaration import Format
from shipper.parsers.regex_safety import compile_user_pattern

_CACHE_LIMIT = 4096


class RegexParser(Parser):
    """Lines matched by the input's own regular expression (re.search, so it may be anchored or not)."""

    name = "regex"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = self.env.settings.regex
        # The regex module, not re: it can stop a match that runs too long (see regex_safety).
        self.pattern = compile_user_pattern(settings.pattern or r"(?P<message>.*)")
        self.timeout = settings.timeout_ms / 1000.0
        self.timed_out = False
        self.time_format = settings.timestamp_format
        self._times: dict[str, tuple[str, bool] | None] = {}
        self._others = [name for name in self.pattern.groupindex if name not in ("timestamp", "level", "message")]

    def parse(self, text: str) -> Event | None:
        try:
            match = self.pattern.search(text, timeout=self.timeout)
        except TimeoutError:
            self.timed_out = True
            return None
        if match is None:
            self.timed_out = False
            return None
        groups = match.groupdict()
        attributes: dict[str, Any] = {name: groups[name] for name in self._others if groups[name] is not None}
        event: Event = {"timestamp": self.clock.observed, "severity_text": None, "severity_number": 0}
        stamp_text = groups.get("timestamp")
        if stamp_text is not None:
            stamp = self._timestamp(stamp_text)
            if stamp is None:
                event["flags"] = ["timestamp_unparsed"]
                attributes["timestamp"] = stamp_text
            else:
                event["timestamp"] = stamp[0]
                if stamp[1]:
                    attributes[TIMEZONE] = self.clock.zone_name
        level = groups.get("level")
        if level is not None:
            event["severity_text"] = level[:64]
            event["severity_number"] = severity_from_text(level)
        message = groups.get("message")
        event["body"] = text if message is None else message
        if message is not None and message != text:
            attributes[ORIGINAL] = text
        event["attributes"] = attributes
        return event

    def _timestamp(self, text: str) -> tuple[str, bool] | None:
        if text in self._times:
            return self._times[text]
        result = self._strptime(text) if self.time_format else self.clock.iso(text.strip())
        if len(self._times) >= _CACHE_LIMIT:
            self._times.clear()
        self._times[text] = result
        return result

    def _strptime(self, text: str) -> tuple[str, bool] | None:
        try:
            parsed = datetime.strptime(text, self.time_format)
        except ValueError:
            return None
        fraction = f"{parsed.microsecond:06d}000"
        wall_time = (parsed.year, parsed.month, parsed.day, parsed.hour, parsed.minute, parsed.second)
        try:
            offset = parsed.utcoffset()
            if offset is None:
                return f"{self.clock.local_head(wall_time)}.{fraction}Z", True
            return f"{self.clock.offset_head(wall_time, int(offset.total_seconds()))}.{fraction}Z", False
        except ValueError:
            return None

    def reject_reason(self, text: str) -> str:
        if self.timed_out:
            return f"the user pattern ran longer than {self.timeout * 1000:g} ms on this line and was stopped"
        return "the line does not match the input's regex pattern"


# auto never picks it (it needs the user's pattern); not compiled: its time goes to the regex engine
FORMAT: Format = Format(RegexParser, compiled=False)
