"""Time for parsers: the input's zone, the observed time of a batch, and cached UTC timestamp text.

Events carry RFC 3339 UTC text with nine fractional digits. Log lines arrive in time order, so the
seconds part of consecutive timestamps mostly repeats: it is converted once and cached as text
("head", `YYYY-MM-DDTHH:MM:SS`), and only the fraction is spliced per line. Integer nanoseconds are
kept throughout (never datetime, which holds only microseconds).
"""

import calendar
import math
import os
import time
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Final, final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from schemas.timefmt import format_ns
from shipper.parsers.bounded import Bounded

_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTHS: Final = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}
_ISO_LIMIT: Final = 8192
HEAD_LIMIT: Final = 4096
"""Most entries of a parser's HeadCache."""
_ZEROS: Final = "000000000"
_UTC_NAMES = ("UTC", "Etc/UTC", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu", "GMT", "Etc/GMT")
# Date, time, optional fraction, optional zone. Separator T, t or space; fraction after . or ,.
_ISO = Bounded(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:[.,](\d++))?\s?(Z|z|UTC|[+-]\d\d(?::?\d\d)?)?"
)
Wall = tuple[int, int, int, int, int, int]
"""year, month, day, hour, minute, second as written in a log line"""


@cache
def host_zone_name() -> str:
    """The host's IANA zone: $TZ, the /etc/localtime link, /etc/timezone, else a fixed Etc/GMT offset.
    Looked up once per process, so building a stream's parsers does no I/O after the first."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        link = os.readlink("/etc/localtime")
        if "zoneinfo/" in link:
            candidates.append(link.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    try:
        with open("/etc/timezone", encoding="utf-8") as handle:
            candidates.append(handle.read().strip())
    except OSError:
        pass
    for name in candidates:
        if name and _valid_zone(name):
            return name
    hours, rest = divmod(-time.timezone, 3600)
    if rest == 0 and hours != 0 and _valid_zone(f"Etc/GMT{-hours:+d}"):
        return f"Etc/GMT{-hours:+d}"  # POSIX sign: Etc/GMT-2 is two hours east
    return "UTC"


def _valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def head_of(seconds: int) -> str:
    """`YYYY-MM-DDTHH:MM:SS` (UTC) for epoch seconds; ValueError outside years 1-9999."""
    try:
        t = time.gmtime(seconds)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"epoch seconds out of range: {seconds}") from None
    if not 0 < t.tm_year < 10000:
        raise ValueError(f"year out of range: {t.tm_year}")
    return f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"


def fraction9(digits: str | None) -> str:
    """Fraction digits as exactly nine digits (padded or cut)."""
    if not digits:
        return "000000000"
    return digits[:9].ljust(9, "0")


@final
class HeadCache:
    """Timestamp heads by the text they were read from: the one cache every parser keeps (one per parser and stream).

    Consecutive lines mostly repeat their second, so a parser converts a date-time's text once (`put`) and looks it up
    after, in `known`. What a head is, the parser decides: the 19-character UTC head, or a whole timestamp; "" marks an
    impossible date, so it is flagged without being converted again. Bounded: at `limit` entries it starts over, which
    costs one conversion per second seen after (timestamps move forward: old seconds seldom come back).
    """

    def __init__(self, limit: int = HEAD_LIMIT) -> None:
        self.limit = limit
        # read directly (`known.get(text)`, once per line: compiled, a method around it cost more than the lookup
        # itself); written only through `put`, which keeps the bound
        self.known: dict[str, str] = {}

    def put(self, key: str, head: str) -> None:
        """Keep `head` for `key`, first starting over when the cache is full."""
        known = self.known
        if len(known) >= self.limit:
            known.clear()
        known[key] = head

    def clear(self) -> None:
        """Forget every head (when what they were computed from changed, such as the observed month)."""
        self.known.clear()

    def __len__(self) -> int:
        return len(self.known)


class Clock:
    """One stream's time context: its zone for zone-less timestamps and the observed time of the batch."""

    def __init__(self, timezone: str = "local") -> None:
        self.zone_name = host_zone_name() if timezone == "local" else timezone
        self.zone: ZoneInfo | None = None if self.zone_name in _UTC_NAMES else ZoneInfo(self.zone_name)
        self.observed_ns = -1
        self.observed = ""
        self.observed_year = 1970
        self.observed_month = 1
        self.observed_month_key = 0
        self.observed_date = "1970-01-01"
        self._iso_cache = HeadCache(_ISO_LIMIT)
        self.set_observed(time.time_ns())

    def set_observed(self, observed_ns: int) -> None:
        """Use `observed_ns` as the observed time of the records that follow."""
        if observed_ns == self.observed_ns:
            return
        self.observed_ns = observed_ns
        self.observed = format_ns(observed_ns)
        seconds = observed_ns // 1_000_000_000
        try:
            local = datetime.fromtimestamp(seconds, self.zone or UTC)
        except (OverflowError, OSError, ValueError):
            local = datetime(1970, 1, 1)
        self.observed_year, self.observed_month = local.year, local.month
        self.observed_month_key = local.year * 12 + local.month
        self.observed_date = f"{local.year:04d}-{local.month:02d}-{local.day:02d}"

    def local_seconds(self, wall_time: Wall) -> int:
        """Epoch seconds of a wall-clock time in the input's zone; ValueError for an impossible date."""
        year, month, day, hour, minute, second = wall_time
        second = min(second, 59)  # a leap second lands on :59
        wall = datetime(year, month, day, hour, minute, second)
        base = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
        if self.zone is None:
            return base
        offset = wall.replace(tzinfo=self.zone).utcoffset() or timedelta(0)
        return base - int(offset.total_seconds())

    def local_head(self, wall_time: Wall) -> str:
        """UTC head text of a wall-clock time in the input's zone."""
        return head_of(self.local_seconds(wall_time))

    def offset_head(self, wall_time: Wall, offset_s: int) -> str:
        """UTC head text of a wall-clock time at a fixed UTC offset."""
        year, month, day, hour, minute, second = wall_time
        datetime(year, month, day, hour, minute, min(second, 59))  # validates
        return head_of(calendar.timegm((year, month, day, hour, minute, min(second, 59), 0, 0, 0)) - offset_s)

    def year_for(self, month: int) -> int:
        """The year of a year-less date in `month` (RFC 3164): a month more than one ahead of the observed
        one is last year's (December seen in January), January seen in December is next year's."""
        year, observed = self.observed_year, self.observed_month
        if month == 1 and observed == 12:
            return year + 1
        if month > observed + 1:
            return year - 1
        return year

    def iso_fast(self, text: str) -> str | None:
        """The UTC timestamp text for the usual `YYYY-MM-DDTHH:MM:SS.fff...Z` once its second was seen; else None
        (then call `iso`)."""
        if text.endswith("Z"):
            head = self._iso_cache.known.get(text[:19])
            if head is not None:
                frac = text[20:-1]
                if frac.isdigit() and frac.isascii() and text[19] == ".":
                    if len(frac) >= 9:
                        return f"{head}.{frac[:9]}Z"
                    return f"{head}.{frac}{_ZEROS[len(frac):]}Z"
        return None

    def iso(self, text: str) -> tuple[str, bool] | None:
        """(UTC timestamp text, zone assumed) for an ISO 8601 / RFC 3339 timestamp filling all of `text`; None if not one."""
        match = _ISO.fullmatch(text)
        if match is None:
            return None
        zone = match[8]
        key = text[:19] + "|" + (zone or "")
        head = self._iso_cache.known.get(key)
        if head is None:
            try:
                head = self._iso_head(match)
            except ValueError:
                return None
            self._iso_cache.put(key, head)
            if zone in ("Z", "z") and text[10] == "T":
                self._iso_cache.put(text[:19], head)
        return f"{head}.{fraction9(match[7])}Z", zone is None

    def _iso_head(self, match: Any) -> str:
        wall_time = (int(match[1]), int(match[2]), int(match[3]), int(match[4]), int(match[5]), int(match[6]))
        zone = match[8]
        if zone is None:
            return self.local_head(wall_time)
        if zone in ("Z", "z", "UTC"):
            return self.offset_head(wall_time, 0)
        digits = zone[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) >= 4 else 0)
        if minutes >= 24 * 60:
            raise ValueError(zone)
        return self.offset_head(wall_time, minutes * 60 * (1 if zone[0] == "+" else -1))

    def epoch(self, value: float) -> str | None:
        """UTC timestamp text for a number since the epoch in s, ms, us or ns (judged by magnitude); None if absurd."""
        if math.isnan(value) or value < 0:  # before 1970 is taken for garbage
            return None
        try:
            if value < 1e11:
                ns = round(value * 1_000_000_000) if isinstance(value, float) else int(value) * 1_000_000_000
            elif value < 1e14:
                ns = round(value * 1_000_000)
            elif value < 1e17:
                ns = round(value * 1_000)
            else:
                ns = int(value)
            seconds, fraction = divmod(ns, 1_000_000_000)
            return f"{head_of(seconds)}.{fraction:09d}Z"
        except (ValueError, OverflowError):
            return None
