"""Cron schedules (minute hour day-of-month month day-of-week) read in a named IANA time zone.

Fields take `*`, a number, a range `a-b`, a step `*/n` or `a-b/n`, and comma lists; months and weekdays also take
names (`jan`, `mon`); weekday 0 and 7 are Sunday. As in Vixie cron, when both day-of-month and day-of-week are
restricted a day matching either counts. Times in a daylight-saving gap are read with the offset before the gap
(zoneinfo's fold=0), so a job at 02:30 on the spring-forward night is expected at 03:30 local time.

`Schedule.next_after(ns)` is the first occurrence strictly after `ns` (nanoseconds since the epoch), found day by day
(at most MAX_DAYS days ahead): no minute-by-minute walk.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_NS = 1_000_000_000
MAX_DAYS = 366 * 5  # a leap day on a given weekday comes round within this
_MONTHS = {name: i + 1 for i, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
_DAYS = {name: i for i, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}), ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS))


class CronError(ValueError):
    """A schedule or time zone that cannot be read; `key` is the setting at fault (schedule or timezone)."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(problem)
        self.key = key


@dataclass(frozen=True)
class Schedule:
    """A parsed cron schedule in one time zone."""

    text: str
    zone: ZoneInfo
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_restricted: bool
    weekdays_restricted: bool

    def _day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        in_month = day.day in self.days
        in_week = (day.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return in_month or in_week
        return in_month and in_week

    def next_after(self, ns: int) -> int:
        """The first occurrence strictly after `ns`; ValueError when none comes within MAX_DAYS days (Feb 30)."""
        local = datetime.fromtimestamp(ns // _NS, self.zone)
        day = local.date()
        for _ in range(MAX_DAYS):
            if self._day_matches(day):
                for hour in self.hours:
                    for minute in self.minutes:
                        moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.zone)
                        at = int(moment.timestamp()) * _NS
                        if at > ns:
                            return at
            day += timedelta(days=1)
        raise ValueError(f"the schedule {self.text!r} has no occurrence within {MAX_DAYS} days")

    def previous_before(self, ns: int) -> int:
        """The last occurrence at or before `ns` (looking back up to MAX_DAYS days); ValueError when none."""
        lookback = 3600 * _NS
        while lookback <= MAX_DAYS * 86_400 * _NS:
            found = None
            at = self.next_after(ns - lookback)
            while at <= ns:
                found = at
                at = self.next_after(at)
            if found is not None:
                return found
            lookback *= 24
        raise ValueError(f"the schedule {self.text!r} had no occurrence within {MAX_DAYS} days")


def parse_cron(text: str, timezone: str) -> Schedule:
    """The schedule of `text` in `timezone`; CronError naming the field or the zone at fault."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError("timezone", f"{timezone!r} is not a known IANA time zone (such as UTC or Europe/Paris)") from None
    parts = text.split()
    if len(parts) != 5:
        raise CronError("schedule", f"{text!r} must have 5 fields (minute hour day month weekday), it has {len(parts)}")
    values = [_field(part, *spec) for part, spec in zip(parts, _FIELDS, strict=True)]
    weekdays = frozenset(d % 7 for d in values[4])
    days = frozenset(values[2])
    months = frozenset(values[3])
    if parts[4].startswith("*") and not any(day <= _MONTH_DAYS[month] for month in months for day in days):
        raise CronError("schedule", f"{text!r} names a day that none of its months has")
    return Schedule(text, zone, tuple(sorted(values[0])), tuple(sorted(values[1])), days, months, weekdays,
                    not parts[2].startswith("*"), not parts[4].startswith("*"))


_MONTH_DAYS = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}


def _field(text: str, name: str, low: int, high: int, names: dict[str, int]) -> set[int]:
    found: set[int] = set()
    for item in text.split(","):
        body, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) < 1:
                raise CronError("schedule", f"the {name} field's step {step_text!r} is not a positive number")
            step = int(step_text)
        if body == "*":
            start, end = low, high
        elif "-" in body:
            first, _, last = body.partition("-")
            start, end = _value(first, name, low, high, names), _value(last, name, low, high, names)
            if start > end:
                raise CronError("schedule", f"the {name} range {body!r} ends before it starts")
        else:
            start = _value(body, name, low, high, names)
            end = high if slash else start
        found.update(range(start, end + 1, step))
    return found


def _value(text: str, name: str, low: int, high: int, names: dict[str, int]) -> int:
    folded = text.lower()
    if folded in names:
        return names[folded]
    if not text.isdigit() or not low <= int(text) <= high:
        raise CronError("schedule", f"the {name} field's value {text!r} is not from {low} to {high}")
    return int(text)
