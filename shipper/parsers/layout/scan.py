"""The date-time scanner: a timestamp in a line's head, found by its components, not by a list of whole-line patterns.

`Scanner.find(text)` tries each token start in the first HEAD characters and reads, at most, one date-time there:
numeric dates in the orders y-m-d, m-d-y, d-m-y (separators `-` `/` `.`, or none: yyyyMMdd, yyMMdd), two-digit years,
month names and abbreviations (`01 Dec 2026`, `1-Dec-2026`, `Dec 01, 2026`, `Dec  1`), a day-of-week prefix, `T`,
spaces, `-`, `:` or `::` between date and time, fractions after `.` `,` or `:`, AM/PM, a zone (`Z`, `+0100`, `+01:00`,
a few zone abbreviations), year-less dates (logcat `12-01`, syslog-like `Dec  1`, klog `I1201`), the ctime year after
the time, and Unix epoch seconds or milliseconds as a whole token with a plausible value.

Linear by construction: each attempt reads a bounded number of characters (no pattern, no backtracking), and at most
HEAD attempts are made, so a line costs O(HEAD) whatever its length.
"""

from typing import Final

HEAD: Final = 64
"""where a line's timestamp may start (characters from the line's start)"""
_MONTHS: Final[dict[str, int]] = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11,
    "dec": 12,
}
_MONTH_FULL: Final = (
    "", "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
    "december",
)
_DAYS: Final[dict[str, str]] = {
    "mon": "monday", "tue": "tuesday", "wed": "wednesday", "thu": "thursday", "fri": "friday", "sat": "saturday",
    "sun": "sunday",
}
ZONES: Final[dict[str, int]] = {
    "UTC": 0, "GMT": 0, "Z": 0, "UT": 0, "WET": 0, "WEST": 3600, "BST": 3600, "CET": 3600, "CEST": 7200,
    "MET": 3600, "MEST": 7200, "EET": 7200, "EEST": 10800, "MSK": 10800, "EST": -18000, "EDT": -14400,
    "CST": -21600, "CDT": -18000, "MST": -25200, "MDT": -21600, "PST": -28800, "PDT": -25200, "AKST": -32400,
    "AKDT": -28800, "HST": -36000, "JST": 32400, "KST": 32400, "HKT": 28800, "SGT": 28800, "AEST": 36000,
    "AEDT": 39600, "ACST": 34200, "AWST": 28800, "NZST": 43200, "NZDT": 46800,
}
"""zone abbreviations read as fixed offsets (ambiguous ones such as IST are left out: the input's zone applies)"""
_EPOCH_MIN: Final = 946_684_800
"""2000-01-01: an epoch token before it is taken for a number, not a time"""
_KLOG_LEVELS: Final = "IWEF"

def _digit(char: str) -> bool:
    return char != "" and 48 <= ord(char[0]) <= 57


def _alnum(char: str) -> bool:
    """A character that continues a token (ASCII letters and digits, or any non-ASCII letter or digit)."""
    if char == "":
        return False
    code = ord(char[0])  # (compared as numbers: compiled, a str comparison is a generic call)
    if code < 128:
        return 48 <= code <= 57 or 97 <= (code | 32) <= 122
    return char.isalnum()


def _run(text: str, start: int, most: int) -> int:
    """The end of the run of ASCII digits at `start`, read no further than `most` digits."""
    end = start
    limit = min(len(text), start + most)
    while end < limit and 48 <= ord(text[end]) <= 57:
        end += 1
    return end


def _digit_at(text: str, index: int, size: int) -> bool:
    """Whether text[index] is an ASCII digit (False out of range): an index and a code point, no slice object."""
    return 0 <= index < size and 48 <= ord(text[index]) <= 57


def clock_colon(text: str, start: int, end: int) -> int:
    """The index of the first `:` in text[start:end] with an ASCII digit on both sides (the `hh:mm` of a time of
    day, `2024:02:00` of an access log's), or -1: one str.find per colon, so linear in `end - start`."""
    size = len(text)
    colon = text.find(":", start, end)
    while colon != -1:
        if _digit_at(text, colon + 1, size) and _digit_at(text, colon - 1, size):
            return colon
        colon = text.find(":", colon + 2, end)  # (the character after it is no digit: no time's colon)
    return -1


FIRST_LOOK: Final = HEAD + 32
"""how far the first look reads: a date-time starting in the head ends its first `hh:mm` (or its digits) before it"""


def may_hold_time(text: str, reach: int) -> bool:
    """A cheap first look with str methods: a time has a digit on both sides of a `:` (or is BGL's `-15.42.50`), a
    compact date or an epoch is six digits or more at the start of one of the first tokens."""
    return clock_colon(text, 1, reach) != -1 or digits_may_hold_time(text, reach)


def digits_may_hold_time(text: str, reach: int) -> bool:
    """The first look's part without the colon (auto looks for the colon once per line, in the whole line): six
    digits or more at the start of one of the first four tokens (or from their second character on: `[1714528801`,
    `I20260314`), or BGL's `-15.42.50` at the first dot."""
    size = len(text)
    end = reach if reach < size else size
    start = 0
    tokens = 0
    while True:
        first = start if start < size and 48 <= ord(text[start]) <= 57 else start + 1
        if first < size and 48 <= ord(text[first]) <= 57 and _run(text, first, 6) == first + 6:
            return True
        tokens += 1
        if tokens == 4:
            break
        # to the next space by code points: a token is a few characters, fewer than a str.find call costs compiled
        while start < end and ord(text[start]) != 32:
            start += 1
        if start >= end:
            break
        start += 1
    dot = text.find(".", 3, reach)
    return (dot != -1 and ord(text[dot - 3]) == 45 and _digit_at(text, dot - 1, size)
            and _digit_at(text, dot + 1, size))


class Stamp:
    """A date-time found in a line: where it is, its wall-clock fields, its fraction and zone."""

    def __init__(self) -> None:
        self.start = 0
        self.end = 0
        """after the date-time (and its zone)"""
        self.key_end = 0
        """after the seconds: text[start:key_end] (with the zone text) names the second"""
        self.frac_start = 0
        self.frac_end = 0
        """the fraction's digits are text[frac_start:frac_end] (empty when none)"""
        self.zone_start = 0
        """the zone's text is text[zone_start:end] (empty when none)"""
        self.year = 0
        self.month = 0
        self.day = 0
        self.hour = 0
        self.minute = 0
        self.second = 0
        self.year_given = True
        self.has_zone = False
        self.offset_s = 0
        self.epoch = 0
        """0: a wall-clock date-time; 1: epoch seconds; 2: epoch milliseconds"""
        self.order = ""
        """the order an ambiguous numeric date was read in ("" when it was not ambiguous)"""
        self.level = ""
        """a level letter written as part of the stamp (klog's `I1201`)"""


class Scanner:
    """Reads date-times; holds the stream's order for ambiguous dates and learns from its evidence (a value over 12)."""

    def __init__(self, date_order: str) -> None:
        self.order_full = "dmy" if date_order == "dmy" else "mdy"
        """x/x/yyyy: month or day first"""
        self.order_short = date_order if date_order in ("mdy", "dmy", "ymd") else "mdy"
        """x/x/yy"""
        self.order_pair = "dm" if date_order == "dmy" else "md"
        """year-less x-x"""
        self.max_epoch = 4_102_444_800  # 2100-01-01; the stream's text parser lowers it to its observed time + a day

    # -- finding -------------------------------------------------------------------------------------------------

    def find(self, text: str, head: int = HEAD, looked: bool = False) -> Stamp | None:
        """The first date-time starting at a token start in the line's first `head` characters; None when none does.
        `looked`: the caller's first look (`may_hold_time(text, FIRST_LOOK)`) found a sign of one: not made again."""
        length = len(text)
        limit = head if head < HEAD else HEAD  # (not min(): a generic call when compiled)
        limit = length if length < limit else limit
        if not (looked and head >= HEAD) and not may_hold_time(text, limit + 32):
            return None  # most lines without a timestamp never reach the attempts below (auto probes every plain line)
        previous = ""
        for index in range(limit):
            char = text[index]
            if not _alnum(previous) and _alnum(char):
                stamp = self.at(text, index)
                if stamp is not None:
                    return stamp
            previous = char
        return None

    def at(self, text: str, index: int) -> Stamp | None:
        """The date-time starting exactly at `index`, or None."""
        char = text[index:index + 1]
        if _digit(char):
            if index > 0 and text[index - 1] in {".", ",", ":"}:
                return None  # the digits of a fraction, a version or a port, not a date
            stamp = self._numeric(text, index)
        elif char.isascii() and char.isalpha():
            stamp = self._worded(text, index)
        else:
            return None
        if stamp is None:
            return None
        after = text[stamp.end:stamp.end + 1]
        if _alnum(after) or (after in (".", ",", ":") and _digit(text[stamp.end + 1:stamp.end + 2])):
            return None  # a date-time is a whole token: "20261201120014abc" is not one, nor a time with 4 digits after ":"
        stamp.start = index
        return stamp

    # -- dates -----------------------------------------------------------------------------------------------------

    def _numeric(self, text: str, index: int) -> Stamp | None:
        end = _run(text, index, 14)
        width = end - index
        sep = text[end:end + 1]
        if width >= 9 and sep not in ("-", "/") and not _alnum(sep):
            return self._epoch(text, index, end)
        if width in {8, 6}:  # yyyyMMdd / yyMMdd, then the time
            year = int(text[index:index + width - 4])
            if width == 6:
                year = _century(year)
            month, day = int(text[end - 4:end - 2]), int(text[end - 2:end])
            if sep in ("T", "-", " ") and 1 <= month <= 12 and 1 <= day <= 31:
                return self._time(text, end + 1, _date(year, month, day, True, ""), compact=True, dash=False)
            return None
        if width == 4:
            if sep not in ("-", "/", "."):
                return None
            year = int(text[index:end])
            start = end + 1
            month_end = _run(text, start, 2)
            if month_end > start:
                month = int(text[start:month_end])
            else:
                month, month_end = _month_name(text, start)
                if month == 0:
                    return None
            if text[month_end:month_end + 1] != sep:
                return None
            day_end = _run(text, month_end + 1, 2)
            if day_end == month_end + 1:
                return None
            day = int(text[month_end + 1:day_end])
            return self._after_date(text, day_end, _date(year, month, day, True, ""))
        if width <= 2:
            return self._short_first(text, index, end, sep)
        return None

    def _short_first(self, text: str, index: int, end: int, sep: str) -> Stamp | None:
        """A date starting with one or two digits: d-Mon-yyyy, dd Mon yyyy, x/x/yyyy, x/x/yy, year-less x-x."""
        first = int(text[index:end])
        if sep not in ("-", "/", ".", " "):
            return None
        start = end + 1
        if sep == " ":
            while text[start:start + 1] == " " and start < end + 3:
                start += 1
        if text[start:start + 1].isalpha():
            month, month_end = _month_name(text, start)
            if month == 0:
                return None
            after = text[month_end:month_end + 1]
            if after != sep:
                return None
            year_end = _run(text, month_end + 1, 4)
            if year_end - month_end - 1 not in (2, 4):
                return None
            year = int(text[month_end + 1:year_end])
            if year_end - month_end - 1 == 2:
                year = _century(year)
            return self._after_date(text, year_end, _date(year, month, first, True, ""))
        if sep == " ":
            return None
        second_end = _run(text, start, 2)
        if second_end == start:
            return None
        second = int(text[start:second_end])
        if text[second_end:second_end + 1] == sep and _digit(text[second_end + 1:second_end + 2]):
            third_end = _run(text, second_end + 1, 4)
            width = third_end - second_end - 1
            third = int(text[second_end + 1:third_end])
            if width == 4:
                return self._full_year(text, third_end, first, second, third)
            if width == 2:
                return self._short_year(text, third_end, first, second, third)
            return None
        # year-less month and day (logcat `12-01 12:00:14.123`, `10.30 16:49:06`)
        order = self.order_pair
        if order == "md" and first > 12 and second <= 12:
            order = self.order_pair = "dm"
        elif order == "dm" and second > 12 and first <= 12:
            order = self.order_pair = "md"
        month, day = (first, second) if order == "md" else (second, first)
        return self._after_date(text, second_end, _date(0, month, day, False, order))

    def _full_year(self, text: str, end: int, first: int, second: int, year: int) -> Stamp | None:
        order = self.order_full
        if order == "mdy" and first > 12 and second <= 12:
            order = self.order_full = "dmy"
        elif order == "dmy" and second > 12 and first <= 12:
            order = self.order_full = "mdy"
        month, day = (first, second) if order == "mdy" else (second, first)
        return self._after_date(text, end, _date(year, month, day, True, order))

    def _short_year(self, text: str, end: int, first: int, second: int, third: int) -> Stamp | None:
        order = self.order_short
        if not _fits(order, first, second, third):
            for other in ("ymd", "mdy", "dmy"):
                if _fits(other, first, second, third):
                    order = self.order_short = other
                    break
            else:
                return None
        if order == "ymd":
            year, month, day = first, second, third
        elif order == "mdy":
            month, day, year = first, second, third
        else:
            day, month, year = first, second, third
        return self._after_date(text, end, _date(_century(year), month, day, True, order))

    def _worded(self, text: str, index: int) -> Stamp | None:
        """A date starting with a letter: a day-of-week, a month name, or klog's level letter and MMdd."""
        char = text[index]
        digits_end = _run(text, 1, 9) if char in _KLOG_LEVELS and index == 0 else 0
        if digits_end in (5, 9) and text[digits_end:digits_end + 1] == " ":
            if digits_end == 5:  # klog's `I1201`
                stamp = self._after_date(text, 5, _date(0, int(text[1:3]), int(text[3:5]), False, ""))
            else:  # glog's `I20261201`
                stamp = self._after_date(text, 9, _date(int(text[1:5]), int(text[5:7]), int(text[7:9]), True, ""))
            if stamp is not None:
                stamp.level = char
            return stamp
        word = text[index:index + 3].lower()
        full = _DAYS.get(word)
        if full is not None:
            position = index + 3
            if text[index:index + len(full)].lower() == full:
                position = index + len(full)
            if text[position:position + 1] == ",":
                position += 1
            if text[position:position + 1] != " ":
                return None
            position += 1
            if text[position:position + 1] == " ":
                position += 1
            if _digit(text[position:position + 1]):
                end = _run(text, position, 2)
                return self._short_first(text, position, end, text[end:end + 1]) if end - position <= 2 else None
            return self._month_first(text, position)
        return self._month_first(text, index)

    def _month_first(self, text: str, index: int) -> Stamp | None:
        """`Dec 01, 2026 12:00:14`, `Dec  1 12:00:14` (year-less), `Dec 04 04:47:44 2005` (ctime), `Dec 01 2026 ...`."""
        month, position = _month_name(text, index)
        if month == 0 or text[position:position + 1] not in (" ", "-", "/"):
            return None
        position += 1
        if text[position:position + 1] == " ":
            position += 1
        day_end = _run(text, position, 2)
        if day_end == position:
            return None
        day = int(text[position:day_end])
        if text[day_end:day_end + 1] == ",":
            day_end += 1
        year_start = day_end + 1
        year_end = _run(text, year_start, 4)
        if text[day_end:day_end + 1] == " " and year_end - year_start == 4 and text[year_end:year_end + 1] in (" ", ":"):
            return self._after_date(text, year_end, _date(int(text[year_start:year_end]), month, day, True, ""))
        return self._after_date(text, day_end, _date(0, month, day, False, ""))

    # -- times -----------------------------------------------------------------------------------------------------

    def _after_date(self, text: str, end: int, date: Stamp) -> Stamp | None:
        """The separator between date and time (T, spaces, -, :, ::, `, `), then the time."""
        if not 1 <= date.month <= 12 or not 1 <= date.day <= 31:
            return None
        sep = text[end:end + 1]
        start = end + 1
        dash = False
        if sep in {" ", ","}:
            if sep == "," and text[start:start + 1] == " ":
                start += 1
            while text[start:start + 1] == " " and start < end + 4:
                start += 1
        elif sep == ":":
            if text[start:start + 1] == ":":
                start += 1
        elif sep == "-":
            dash = True
        elif sep not in {"T", "t"}:
            return None
        return self._time(text, start, date, compact=False, dash=dash)

    def _time(self, text: str, start: int, stamp: Stamp, *, compact: bool, dash: bool) -> Stamp | None:
        """The time (`HH:mm:ss`, `H.mm.ss` after a `-`, `HHmmss` after a compact date), its fraction, AM/PM, zone."""
        hour_end = _run(text, start, 2)
        if compact and hour_end - start == 2 and _run(text, start, 6) == start + 6:
            hour, minute, second = int(text[start:start + 2]), int(text[start + 2:start + 4]), int(text[start + 4:start + 6])
            key_end = start + 6
        else:
            if hour_end == start:
                return None
            colon = text[hour_end:hour_end + 1]
            if colon != ":" and not (dash and colon == "."):
                return None
            minute_end = hour_end + 3
            second_end = minute_end + 3
            if (text[minute_end:minute_end + 1] != colon or _run(text, hour_end + 1, 2) != minute_end
                    or _run(text, minute_end + 1, 2) != second_end):
                return None
            hour, minute = int(text[start:hour_end]), int(text[hour_end + 1:minute_end])
            second = int(text[minute_end + 1:second_end])
            key_end = second_end
        if hour > 23 or minute > 59 or second > 60:
            return None
        stamp.key_end = key_end
        position = key_end
        mark = text[position:position + 1]
        if mark in {".", ",", ":"}:
            frac_end = _run(text, position + 1, 9)
            width = frac_end - position - 1
            if width > 0 and (mark != ":" or width == 3):
                stamp.frac_start, stamp.frac_end = position + 1, frac_end
                position = frac_end
        if stamp.frac_end == 0:
            stamp.frac_start = stamp.frac_end = position
        stamp.zone_start = position  # AM/PM, a zone, a ctime year: the text after the seconds that names the second
        meridian = text[position + 1:position + 3].upper() if text[position:position + 1] == " " else ""
        if (meridian in {"AM", "PM"}) and not _alnum(text[position + 3:position + 4]):
            if hour == 0 or hour > 12:
                return None
            hour = hour % 12 + (12 if meridian == "PM" else 0)
            position += 3
        position = self._zone(text, position, stamp)
        if not stamp.year_given and not stamp.has_zone and text[position:position + 1] == " ":
            year_end = _run(text, position + 1, 4)
            if year_end == position + 5 and not _alnum(text[year_end:year_end + 1]):  # ctime: `Dec 04 04:47:44 2005`
                stamp.year, stamp.year_given = int(text[position + 1:year_end]), True
                position = year_end
        stamp.end = position
        stamp.hour, stamp.minute, stamp.second = hour, minute, second
        return stamp

    def _zone(self, text: str, position: int, stamp: Stamp) -> int:
        """After the time: `Z`, `+hh:mm`, `+hhmm`, `+hh` (also after one space), a zone abbreviation after a space."""
        char = text[position:position + 1]
        if char in {"Z", "z"}:
            if not _alnum(text[position + 1:position + 2]):
                stamp.has_zone, stamp.offset_s = True, 0
                return position + 1
            return position
        start = position
        if char == " ":
            start += 1
            char = text[start:start + 1]
        if char in {"+", "-"}:
            hours_end = _run(text, start + 1, 2)
            if hours_end != start + 3:
                return position
            minutes_start = hours_end + 1 if text[hours_end:hours_end + 1] == ":" else hours_end
            minutes_end = _run(text, minutes_start, 2)
            if minutes_end == minutes_start + 2:
                end = minutes_end
                minutes = int(text[minutes_start:minutes_end])
            elif minutes_start == hours_end and not _digit(text[hours_end:hours_end + 1]):
                end, minutes = hours_end, 0
            else:
                return position
            if _alnum(text[end:end + 1]):
                return position
            hours = int(text[start + 1:hours_end])
            if hours > 23 or minutes > 59:
                return position
            stamp.has_zone = True
            stamp.offset_s = (hours * 3600 + minutes * 60) * (1 if char == "+" else -1)
            return end
        if start > position and "A" <= char <= "Z":
            end = start
            while end < start + 5 and "A" <= text[end:end + 1] <= "Z":
                end += 1
            offset = ZONES.get(text[start:end])
            if offset is not None and not _alnum(text[end:end + 1]):
                stamp.has_zone, stamp.offset_s = True, offset
                return end
        return position

    def _epoch(self, text: str, index: int, end: int) -> Stamp | None:
        """Epoch seconds (10 digits, an optional fraction) or milliseconds (13 digits) as a whole token."""
        if index > 0 and text[index - 1] not in " [(\t":
            return None  # a whole token: not the digits of `id=1733054414` or a path
        width = end - index
        stamp = Stamp()
        if width == 10:
            seconds = int(text[index:end])
            stamp.epoch = 1
            stamp.key_end = end
            position = end
            if text[end:end + 1] == ".":
                frac_end = _run(text, end + 1, 9)
                if frac_end > end + 1:
                    stamp.frac_start, stamp.frac_end = end + 1, frac_end
                    position = frac_end
            if stamp.frac_end == 0:
                stamp.frac_start = stamp.frac_end = end
        elif width == 13:
            seconds = int(text[index:end - 3])
            stamp.epoch = 2
            stamp.key_end = end - 3
            stamp.frac_start, stamp.frac_end = end - 3, end
            position = end
        else:
            return None
        if not _EPOCH_MIN <= seconds <= self.max_epoch:
            return None
        if _alnum(text[position:position + 1]) or text[position:position + 1] in (".", ",", ":", "-", "/"):
            return None
        stamp.zone_start = stamp.end = position
        stamp.has_zone = True
        stamp.second = seconds
        return stamp


def _month_name(text: str, index: int) -> tuple[int, int]:
    """(month, end) for a month's abbreviation or full name at `index` (any case, an optional `.` after the
    abbreviation); (0, index) when there is none."""
    month = _MONTHS.get(text[index:index + 3].lower(), 0)
    if month == 0:
        return 0, index
    end = index + 3
    full = _MONTH_FULL[month]
    if len(full) > 3 and text[index:index + len(full)].lower() == full:
        end = index + len(full)
    elif text[end:end + 1] == "." and text[end + 1:end + 2] == " ":
        end += 1
    if text[end:end + 1].isalpha():
        return 0, index
    return month, end


def _date(year: int, month: int, day: int, year_given: bool, order: str) -> Stamp:
    """A stamp with its date read (the time is read into it next)."""
    stamp = Stamp()
    stamp.year, stamp.month, stamp.day = year, month, day
    stamp.year_given = year_given
    stamp.order = order
    return stamp


def _century(year: int) -> int:
    return 2000 + year if year < 70 else 1900 + year


def _fits(order: str, first: int, second: int, third: int) -> bool:
    if order == "ymd":
        return 1 <= second <= 12 and 1 <= third <= 31
    if order == "mdy":
        return 1 <= first <= 12 and 1 <= second <= 31
    return 1 <= second <= 12 and 1 <= first <= 31
