"""regex: the user's pattern (`[inputs.regex] pattern`) with named groups. `timestamp`, `level` and `message`
fill the schema fields; every other named group becomes an attribute. `timestamp_format` is a strptime
format (`%f` for fractions, `%z` for a zone); empty accepts ISO 8601 / RFC 3339. The pattern is compiled
and checked when the config is validated (shipper.config).

`types` (`{ cpu = "float", status = "int", ok = "bool" }`) converts those groups' captures (spaces around them
ignored): int as written in decimal, a sign and digits, within 64 bits; float the same with an optional fraction and
exponent (no `nan`, `inf` or `_`); bool from true/false, yes/no, on/off, 1/0 in any case. A capture that does not
convert keeps its text and flags the event `type_conversion_failed`: a value out of shape never loses the line."""

import math
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from schemas.severity import severity_from_text
from shipper.parsers.base import ORIGINAL, TIMEZONE, Event, Parser, add_flag
from shipper.parsers.declaration import Format
from shipper.parsers.regex_safety import compile_user_pattern

_CACHE_LIMIT = 4096
CONVERSION_FAILED: Final = "type_conversion_failed"
_INT: Final = re.compile(r"[-+]?[0-9]{1,19}")
_FLOAT: Final = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]{1,3})?")
_BOOLS: Final = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}


def _to_int(text: str) -> int | None:
    if not _INT.fullmatch(text):
        return None
    value = int(text)
    return value if -(1 << 63) <= value < (1 << 63) else None  # what every index stores as an integer


def _to_float(text: str) -> float | None:
    if not _FLOAT.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None  # 1e999: JSON has no infinity


def _to_bool(text: str) -> bool | None:
    return _BOOLS.get(text.lower()) if len(text) <= 5 else None


CONVERTERS: Final[dict[str, Callable[[str], int | float | bool | None]]] = {
    "int": _to_int, "float": _to_float, "bool": _to_bool,
}
"""`[inputs.regex] types` values (shipper.config.CAPTURE_TYPES): the capture's value, or None when it does not convert"""


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
        self._typed = [(name, CONVERTERS[kind]) for name, kind in settings.types.items()]

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
        for name, convert in self._typed:
            captured = attributes.get(name)
            if captured is not None:
                value = convert(captured.strip())
                if value is None:
                    add_flag(event, CONVERSION_FAILED)
                else:
                    attributes[name] = value
        stamp_text = groups.get("timestamp")
        if stamp_text is not None:
            stamp = self._timestamp(stamp_text)
            if stamp is None:
                add_flag(event, "timestamp_unparsed")
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
