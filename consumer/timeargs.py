"""Times and durations as users write them on the command line.

A time is RFC 3339 / ISO 8601 (`2026-05-01T12:00:00Z`, `2026-05-01T14:00:00+02:00`, `2026-05-01` for midnight
UTC) or a duration back from now (`15m`, `2h`, `7d`, `PT1H30M`, `P1DT2H`). Durations are `30s`, `15m`, `2h`,
`7d`, `1w` or ISO 8601 `PnDTnHnMnS` (the form kafka-consumer-groups takes): logferry.durations.
"""

import re
import time

from logferry.durations import parse_duration
from schemas.timefmt import format_ns, parse_rfc3339_ns

_NS = 1_000_000_000
def parse_time_ns(text: str, now_ns: int | None = None) -> int:
    """Nanoseconds since the epoch for a time or a duration back from now; ValueError otherwise."""
    value = text.strip()
    if re.fullmatch(r"\d{4}-\d\d-\d\d", value):
        value += "T00:00:00Z"
    elif re.fullmatch(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?", value):
        value += "Z" if value.count(":") == 2 else ":00Z"
    try:
        return parse_rfc3339_ns(value)
    except ValueError:
        pass
    try:
        seconds = parse_duration(value)
    except ValueError:
        raise ValueError(f"{text!r} is neither a time such as 2026-05-01T12:00:00Z nor a duration such as 15m") from None
    return (now_ns if now_ns is not None else time.time_ns()) - int(seconds * _NS)


def time_text(text: str) -> str:
    """`text` as the index's timestamp text (RFC 3339 UTC, 9 digits), which sorts in time order."""
    return format_ns(parse_time_ns(text))
