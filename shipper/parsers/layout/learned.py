"""A stream's learned layout: where its lines' timestamp is and what shape it has, for a fast path per line.

Learned from the first line the scanner reads (shipper.parsers.layout.scan). A line fits when, at the same position,
the text naming the second (date, time to the seconds, zone) was seen before (its UTC head is cached: no conversion),
its fraction has the same separator and width, and the token ends there. A line whose second was not seen yet is read
by the scanner at that position only, and fits when the scanner finds the same shape there (the same characters
where the layout has separators, digits where it has digits, the same reading of an ambiguous date).
"""

from typing import Final

from shipper.parsers.clock import Clock, head_of
from shipper.parsers.layout.levels import redis_role
from shipper.parsers.layout.scan import Scanner, Stamp

_CACHE_LIMIT: Final = 4096
_ZEROS: Final = "000000000"
_DAY_S: Final = 86_400
_MASK: Final = str.maketrans("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
                             "0000000000" + "a" * 52)
KIND_PLAIN: Final = 0
KIND_KLOG: Final = 1
"""klog/glog `I1201 ...`: the level is the letter before the date"""
KIND_REDIS: Final = 2
"""Redis `pid:role date * message`: the level is a symbol"""


def _shape(text: str, start: int, end: int) -> str:
    return text[start:end].translate(_MASK)


class Layout:
    """One timestamp layout of a stream: its position, the spans of its parts, its shape and its cached heads."""

    def __init__(self, stamp: Stamp, text: str) -> None:
        self.start = stamp.start
        self.key_end = stamp.key_end
        self.frac_start = stamp.frac_start
        self.frac_end = stamp.frac_end
        self.zone_start = stamp.zone_start
        self.end = stamp.end
        self.frac_sep = text[stamp.key_end:stamp.frac_start]
        self.has_fraction = stamp.frac_end > stamp.frac_start
        self.zone_text = stamp.zone_start < stamp.end
        self.zone_assumed = not stamp.has_zone
        self.year_given = stamp.year_given
        self.epoch = stamp.epoch
        self.order = stamp.order
        self.shape = _shape(text, stamp.start, stamp.end)
        self.kind = KIND_PLAIN
        if stamp.level:
            self.kind = KIND_KLOG
        elif stamp.start > 0 and redis_role(text, stamp.start):
            self.kind = KIND_REDIS
        self.heads: dict[str, str] = {}
        self.observed_date = ""
        """for year-less layouts: the observed date the cached heads were inferred on"""

    def key(self, text: str) -> str:
        if self.zone_text:
            return text[self.start:self.key_end] + text[self.zone_start:self.end]
        return text[self.start:self.key_end]

    def timestamp(self, text: str, scanner: Scanner, clock: Clock) -> str | None:
        """The UTC timestamp text of `text` when it fits this layout; None when it does not."""
        if not self.year_given and self.observed_date != clock.observed_date:
            self.heads.clear()  # the year of a year-less date depends on the observed date
            self.observed_date = clock.observed_date
        end = self.end
        if end < len(text):
            after = text[end]
            if after.isalnum() or ((after in {".", ",", ":"}) and text[end + 1:end + 2].isdigit()):
                return None
        key = text[self.start:self.key_end]
        if self.zone_text:
            key += text[self.zone_start:end]
        head = self.heads.get(key)
        if head is None:
            head = self._learn_head(text, key, scanner, clock)
            if head is None:
                return None
        if not self.has_fraction:
            return head + ".000000000Z"
        fraction = text[self.frac_start:self.frac_end]
        if not (fraction.isdigit() and fraction.isascii()) or (self.frac_sep and text[self.key_end] != self.frac_sep):
            return None
        width = len(fraction)
        if width >= 9:
            return f"{head}.{fraction[:9]}Z"
        return f"{head}.{fraction}{_ZEROS[width:]}Z"

    def _learn_head(self, text: str, key: str, scanner: Scanner, clock: Clock) -> str | None:
        scanner.max_epoch = clock.observed_ns // 1_000_000_000 + _DAY_S
        stamp = scanner.at(text, self.start)
        if not self.same(stamp, text):
            return None
        assert stamp is not None
        head = stamp_head(stamp, clock)
        if head is None:
            return None
        if len(self.heads) >= _CACHE_LIMIT:
            self.heads.clear()
        self.heads[key] = head
        return head

    def same(self, stamp: Stamp | None, text: str) -> bool:
        """Whether `stamp` (read at this layout's position) has this layout's shape."""
        return (
            stamp is not None and stamp.end == self.end and stamp.key_end == self.key_end
            and stamp.frac_start == self.frac_start and stamp.frac_end == self.frac_end
            and stamp.zone_start == self.zone_start and stamp.order == self.order and stamp.epoch == self.epoch
            and stamp.year_given == self.year_given and _shape(text, stamp.start, stamp.end) == self.shape
        )


def stamp_head(stamp: Stamp, clock: Clock) -> str | None:
    """The UTC head (`YYYY-MM-DDTHH:MM:SS`) of a stamp; None for a date that names no real time (February 30)."""
    try:
        if stamp.epoch:
            return head_of(stamp.second)
        year = stamp.year if stamp.year_given else infer_year(stamp, clock)
        wall = (year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
        if stamp.has_zone:
            return clock.offset_head(wall, stamp.offset_s)
        return clock.local_head(wall)
    except (ValueError, OverflowError):
        return None


def infer_year(stamp: Stamp, clock: Clock) -> int:
    """The year of a year-less date: the latest year that puts it no more than a day after the observed time
    (December seen on January 1st is last year's; January 1st seen on December 31st is next year's)."""
    limit = clock.observed_ns // 1_000_000_000 + _DAY_S
    base = clock.observed_year
    for year in (base + 1, base, base - 1, base - 4):  # base - 4: February 29th
        try:
            seconds = clock.local_seconds((year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second))
        except ValueError:
            continue
        if seconds <= limit:
            return year
    raise ValueError("no year puts the date in the past")
