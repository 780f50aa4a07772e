"""Alert rules as configured: `[[rules]]` tables, each a `type` with its own keys (declared once, typed, described).

    type = "threshold"  at least `threshold` matching events in a sliding `window` (event time)
    type = "ratio"      matching / all events of the group (`total`, a query; empty: every event) >= `ratio` over a
                        `window`, once the group has `min_count` events in it
    type = "absence"    fewer than `count` matching events in a `window` (wall time), or no matching event between
                        two occurrences of a cron `schedule` in a named `timezone` (checked at each occurrence)
    type = "match"      each matching event; the events of one group within one `interval` are one alert

Every rule has a `name`, a `match` (the language of `consumer search`), a `group_by`, a `severity`, `for` (how long
the condition must hold before the alert fires; `for_` in Python, `for` in TOML), `resolve_after`, `labels` and
`annotations`. The TOML key `for` is renamed by consumer.alerting.config before loading. `for` is refused on a `match`
rule (each matching event fires: nothing holds for a while) and on an absence rule with a `schedule` (the deadline
decides at once): a setting that would be silently ignored is a config error.
"""

import builtins
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal

from consumer.alerting.cron import CronError, parse_cron
from consumer.alerting.matcher import compile_query
from consumer.query import QuerySyntaxError
from logferry.config import REQUIRED, Seconds, Tagged, setting
from logferry.errors import ConfigError

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_GROUP_FIELD = re.compile(r"[A-Za-z_@][A-Za-z0-9_.@-]{0,127}")
MAX_BUCKETS = 600  # most buckets a window is cut into: bounds the state and the work per evaluated group


class RuleSettings(Tagged):
    """One alert rule; `type` names its kind."""

    default_tag: ClassVar[str] = "threshold"
    noun: ClassVar[str] = "rule type"
    type: str
    name: str
    match: str
    group_by: list[str]
    severity: Literal["info", "warning", "critical"]
    for_: Seconds
    resolve_after: Seconds
    labels: dict[str, str]
    annotations: dict[str, str]
    max_groups: int
    allowed_lateness: Seconds | None

    @classmethod
    def variants(cls) -> Mapping[str, builtins.type]:
        return {"threshold": ThresholdRule, "ratio": RatioRule, "absence": AbsenceRule, "match": MatchRule}


@dataclass(frozen=True, kw_only=True)
class _Common:
    name: str = setting(REQUIRED, "The rule's name: letters, digits, `_ . -`; unique; part of every alert's identity.")
    match: str = setting("", "Which events count, in the language of `consumer search` (words, level:error, "
                             "service:billing, host:web1, attribute:value); empty: every event.")
    group_by: list[str] = setting([], "Fields whose values make separate alerts: service, host, or an attribute key.")
    severity: Literal["info", "warning", "critical"] = setting("warning", "The alerts' severity: info, warning, critical.")
    for_: Seconds = setting(Seconds(0.0), "How long (event time) the condition must hold before the alert fires "
                                          "(TOML key `for`); 0 fires at once.")
    resolve_after: Seconds = setting(Seconds(0.0), "How long the condition must stop holding before a firing alert "
                                                   "is resolved.")
    labels: dict[str, str] = setting({}, "Labels added to the rule's alerts (routes and inhibition match on them).")
    annotations: dict[str, str] = setting({}, "Free text shown with the rule's alerts (description, runbook).")
    max_groups: int = setting(10_000, "Most groups the rule remembers (windows, last seen); the least recently "
                                      "seen are forgotten beyond it.")
    allowed_lateness: Seconds | None = setting(None, "How late (behind wall time) an event may arrive and still be "
                                                     "on time; default [alert] allowed_lateness.")

    def check(self, where: str) -> None:
        if not _NAME.fullmatch(self.name):
            raise ConfigError(f"{where}.name", f"{self.name!r} must be letters, digits, _ . - (up to 128)")
        try:
            compile_query(self.match)
        except QuerySyntaxError as error:
            raise ConfigError(f"{where}.match", f"is not a valid query: {error}") from None
        for i, field in enumerate(self.group_by):
            if not _GROUP_FIELD.fullmatch(field):
                raise ConfigError(f"{where}.group_by[{i}]", f"{field!r} is not a field name")
        if len(set(self.group_by)) != len(self.group_by):
            raise ConfigError(f"{where}.group_by", "names a field twice")
        for key in (*self.labels, *self.annotations):
            if not _LABEL.fullmatch(key):
                raise ConfigError(f"{where}.labels", f"{key!r} is not a label name (letters, digits, _)")
        if self.for_ < 0:
            raise ConfigError(f"{where}.for", "must be 0 or a positive duration")
        if self.resolve_after < 0:
            raise ConfigError(f"{where}.resolve_after", "must be 0 or a positive duration")
        if self.max_groups < 1:
            raise ConfigError(f"{where}.max_groups", "must be at least 1")
        if self.allowed_lateness is not None and self.allowed_lateness < 0:
            raise ConfigError(f"{where}.allowed_lateness", "must be 0 or a positive duration")


def _check_window(where: str, window: float, step: float) -> None:
    if window <= 0:
        raise ConfigError(f"{where}.window", "must be a positive duration such as \"5m\"")
    if window > 31 * 86_400:
        raise ConfigError(f"{where}.window", "must be at most 31 days")
    if step < 0 or step > window:
        raise ConfigError(f"{where}.step", "must be 0 (automatic) or a positive duration up to the window")
    if step and window / step > MAX_BUCKETS:
        raise ConfigError(f"{where}.step", f"cuts the window into more than {MAX_BUCKETS} buckets")


@dataclass(frozen=True, kw_only=True)
class ThresholdRule(_Common, RuleSettings):
    """At least `threshold` matching events of a group within `window`."""

    type: Literal["threshold"] = setting("threshold", "Rule type: threshold, ratio, absence, match.")
    window: Seconds = setting(Seconds(300.0), "The sliding window, in event time.")
    threshold: int = setting(1, "Fewest matching events in the window that make the condition hold.")
    step: Seconds = setting(Seconds(0.0), "Bucket width the window slides by; 0: a twentieth of the window (at least 1 s).")

    def check(self, where: str) -> None:
        _Common.check(self, where)
        _check_window(where, self.window, self.step)
        if self.threshold < 1:
            raise ConfigError(f"{where}.threshold", "must be at least 1")


@dataclass(frozen=True, kw_only=True)
class RatioRule(_Common, RuleSettings):
    """matching / all events of a group >= `ratio` over `window`, with at least `min_count` events."""

    type: Literal["ratio"] = setting("ratio", "Rule type: threshold, ratio, absence, match.")
    window: Seconds = setting(Seconds(600.0), "The sliding window, in event time.")
    ratio: float = setting(0.05, "Smallest share of matching events (0 < ratio <= 1) that makes the condition hold.")
    min_count: int = setting(20, "Fewest events of the group in the window before the ratio counts.")
    total: str = setting("", "Which events make the denominator (a query); empty: every event of the group.")
    step: Seconds = setting(Seconds(0.0), "Bucket width the window slides by; 0: a twentieth of the window (at least 1 s).")

    def check(self, where: str) -> None:
        _Common.check(self, where)
        _check_window(where, self.window, self.step)
        if not 0 < self.ratio <= 1:
            raise ConfigError(f"{where}.ratio", f"must be above 0 and at most 1, got {self.ratio}")
        if self.min_count < 1:
            raise ConfigError(f"{where}.min_count", "must be at least 1")
        try:
            compile_query(self.total)
        except QuerySyntaxError as error:
            raise ConfigError(f"{where}.total", f"is not a valid query: {error}") from None


@dataclass(frozen=True, kw_only=True)
class AbsenceRule(_Common, RuleSettings):
    """Too few matching events: fewer than `count` in `window` (wall time), or none since the previous occurrence of
    `schedule` when it comes round."""

    type: Literal["absence"] = setting("absence", "Rule type: threshold, ratio, absence, match.")
    window: Seconds = setting(Seconds(0.0), "Fewer than `count` matching events in this window (ending allowed_lateness "
                                            "before now) make the condition hold; 0 when `schedule` is used.")
    count: int = setting(1, "With `window`: the fewest matching events that make the group present.")
    schedule: str = setting("", "A cron schedule (minute hour day month weekday, e.g. \"0 3 * * *\"): at each "
                                "occurrence, a group with no matching event since the previous one fires.")
    timezone: str = setting("UTC", "The IANA time zone the schedule is read in (e.g. Europe/Paris).")
    forget_after: Seconds = setting(Seconds(7 * 86_400.0), "A group not seen for this long is forgotten (no longer "
                                                           "expected).")
    step: Seconds = setting(Seconds(0.0), "With `window`: bucket width; 0: a twentieth of the window (at least 1 s).")

    def check(self, where: str) -> None:
        _Common.check(self, where)
        if bool(self.window) == bool(self.schedule.strip()):
            raise ConfigError(f"{where}.window", "set exactly one of window and schedule")
        if self.window:
            _check_window(where, self.window, self.step)
        else:
            try:
                parse_cron(self.schedule, self.timezone)
            except CronError as error:
                raise ConfigError(f"{where}.{error.key}", str(error)) from None
            if self.for_:
                # The deadline decides at once (no event is there to keep the condition holding): the wait before
                # firing is the schedule itself.
                raise ConfigError(f"{where}.for", "does not apply with a schedule (the alert fires at the deadline); "
                                                  "move the schedule later instead")
        if self.count < 1:
            raise ConfigError(f"{where}.count", "must be at least 1")
        if self.forget_after <= 0:
            raise ConfigError(f"{where}.forget_after", "must be a positive duration")


@dataclass(frozen=True, kw_only=True)
class MatchRule(_Common, RuleSettings):
    """Each matching event; a group's events within one `interval` (event time) make one alert."""

    type: Literal["match"] = setting("match", "Rule type: threshold, ratio, absence, match.")
    interval: Seconds = setting(Seconds(300.0), "The events of one group within this interval are one alert.")

    def check(self, where: str) -> None:
        _Common.check(self, where)
        if self.interval <= 0:
            raise ConfigError(f"{where}.interval", "must be a positive duration such as \"5m\"")
        if self.for_:
            # Each matching event is the condition: nothing holds for a while. "Keeps happening" is a threshold rule.
            raise ConfigError(f"{where}.for", "does not apply to a match rule (each matching event fires); use a "
                                              "threshold rule with a window for events that keep coming")
