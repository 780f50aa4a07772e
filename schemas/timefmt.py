"""RFC 3339 UTC timestamps with nanoseconds, kept as integer nanoseconds in code.

`datetime` holds only microseconds, so times travel as int nanoseconds since the epoch and are formatted
only when an event is serialised. The seconds part is cached: log lines arrive in time order, so
consecutive events mostly share it.
"""

import time

_NS = 1_000_000_000
_cache: dict[int, str] = {}
_CACHE_LIMIT = 4096


def format_ns(ns: int) -> str:
    """`2024-05-01T02:00:01.123456789Z` for `ns` nanoseconds since the epoch (UTC)."""
    seconds, fraction = divmod(ns, _NS)
    head = _cache.get(seconds)
    if head is None:
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        head = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        _cache[seconds] = head
    return f"{head}.{fraction:09d}Z"


def now_ns() -> int:
    """The current time in nanoseconds since the epoch."""
    return time.time_ns()


def parse_rfc3339_ns(text: str) -> int:
    """Nanoseconds since the epoch for an RFC 3339 timestamp with any fraction and a Z or numeric offset.

    Raises ValueError when `text` is not such a timestamp.
    """
    import calendar

    if len(text) < 20 or text[4] != "-" or text[7] != "-" or text[10] not in "Tt " or text[13] != ":":
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    year, month, day = int(text[0:4]), int(text[5:7]), int(text[8:10])
    hour, minute, second = int(text[11:13]), int(text[14:16]), int(text[17:19])
    rest = text[19:]
    fraction_ns = 0
    if rest.startswith("."):
        end = 1
        while end < len(rest) and rest[end].isdigit():
            end += 1
        digits = rest[1:end]
        if not digits:
            raise ValueError(f"empty fraction in {text!r}")
        fraction_ns = int(digits[:9].ljust(9, "0"))
        rest = rest[end:]
    if rest in ("Z", "z"):
        offset_s = 0
    elif len(rest) == 6 and rest[0] in "+-" and rest[3] == ":":
        offset_s = (int(rest[1:3]) * 3600 + int(rest[4:6]) * 60) * (1 if rest[0] == "+" else -1)
    else:
        raise ValueError(f"bad zone in {text!r}")
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 60):
        raise ValueError(f"field out of range in {text!r}")
    seconds = calendar.timegm((year, month, day, hour, minute, min(second, 59), 0, 0, 0)) - offset_s
    return seconds * _NS + fraction_ns
