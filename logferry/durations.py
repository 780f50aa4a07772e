"""Durations as people write them, in configs and on the command line: one or more number+unit parts ("500ms",
"30s", "15m", "1h30m", "14d", "1w"; as Vector, Fluent Bit and systemd accept them) or ISO 8601 `PnWnDTnHnMnS`
("PT1H30M", "P1DT2H"; the form kafka-consumer-groups takes)."""

import re

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0, "w": 604_800.0}
# Fixed pieces, each optional and each matched at most once: no backtracking beyond the text's length.
_ISO = re.compile(r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?", re.IGNORECASE)


def parse_duration(text: str) -> float:
    """Seconds in `text`; ValueError with a sentence when it is not a duration."""
    value = text.strip()
    if value[:1] in ("P", "p"):
        iso = _ISO.fullmatch(value)
        if iso and any(iso.groups()) and not value.upper().endswith("T"):
            weeks, days, hours, minutes, seconds = (float(g) if g else 0.0 for g in iso.groups())
            return weeks * 604_800 + days * 86_400 + hours * 3600 + minutes * 60 + seconds
        raise _not_a_duration(text)
    return _parse_parts(value, text)


def _parse_parts(value: str, text: str) -> float:
    """Number+unit parts, read in one pass: digits (an optional fraction), optional spaces, a unit; repeated."""
    if not value:
        raise _not_a_duration(text)
    total = 0.0
    i, n = 0, len(value)
    while i < n:
        start = i
        while i < n and (value[i].isdigit() or value[i] == "."):
            i += 1
        number = value[start:i]
        while i < n and value[i] == " ":
            i += 1
        unit_start = i
        while i < n and value[i].isalpha():
            i += 1
        unit = value[unit_start:i]
        if not number or number.count(".") > 1 or number == "." or unit not in _UNIT_SECONDS:
            raise _not_a_duration(text)
        total += float(number) * _UNIT_SECONDS[unit]
        while i < n and value[i] == " ":
            i += 1
    return total


def _not_a_duration(text: str) -> ValueError:
    return ValueError(f'{text!r} is not a duration such as "500ms", "30s", "5m", "1h30m", "14d" or "PT1H30M"')
