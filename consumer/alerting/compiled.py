"""Rules ready to evaluate: times in nanoseconds, queries compiled; an event's group and time.

The per-event dispatch (which rules an event concerns) is consumer.alerting.fastpath's.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from consumer.alerting.cron import Schedule, parse_cron
from consumer.alerting.matcher import Matcher, compile_query
from consumer.alerting.model import Severity
from consumer.alerting.rules import AbsenceRule, MatchRule, RatioRule, RuleSettings, ThresholdRule

NS = 1_000_000_000

Group = tuple[tuple[str, str], ...]


class RuleKind(StrEnum):
    THRESHOLD = "threshold"
    RATIO = "ratio"
    ABSENCE = "absence"
    SCHEDULE = "absence-schedule"
    MATCH = "match"


@dataclass(frozen=True)
class Rule:
    """One configured rule, compiled."""

    index: int
    settings: RuleSettings
    kind: RuleKind
    matcher: Matcher
    total: Matcher | None  # ratio: the denominator's query
    group_by: tuple[str, ...]
    severity: Severity
    step: int  # bucket width, ns (match: the interval)
    buckets: int  # window / step (match: 1)
    window: int
    threshold: int  # threshold: events; absence: count
    ratio: float
    min_count: int
    for_: int
    resolve_after: int
    lateness: int
    forget_after: int
    max_groups: int
    schedule: Schedule | None

    @property
    def name(self) -> str:
        return self.settings.name


def compile_rule(index: int, settings: RuleSettings, default_lateness: float) -> Rule:
    lateness = settings.allowed_lateness if settings.allowed_lateness is not None else default_lateness
    window = getattr(settings, "window", 0.0)
    step = getattr(settings, "step", 0.0) or max(min(1.0, window), window / 20)
    total = None
    threshold, ratio, min_count, forget, schedule = 1, 0.0, 0, 0, None
    if isinstance(settings, ThresholdRule):
        kind, threshold = RuleKind.THRESHOLD, settings.threshold
    elif isinstance(settings, RatioRule):
        kind, ratio, min_count = RuleKind.RATIO, settings.ratio, settings.min_count
        total = compile_query(settings.total)
    elif isinstance(settings, AbsenceRule):
        threshold, forget = settings.count, int(settings.forget_after * NS)
        if settings.schedule.strip():
            kind, schedule = RuleKind.SCHEDULE, parse_cron(settings.schedule, settings.timezone)
            step = 60.0
        else:
            kind = RuleKind.ABSENCE
    elif isinstance(settings, MatchRule):
        kind, window = RuleKind.MATCH, settings.interval
        step = window
    else:
        raise TypeError(f"unknown rule settings {type(settings).__name__}")
    step_ns = max(1, int(step * NS))
    window_ns = int(window * NS)
    return Rule(
        index=index, settings=settings, kind=kind, matcher=compile_query(settings.match), total=total,
        group_by=tuple(settings.group_by), severity=Severity(settings.severity), step=step_ns,
        buckets=max(1, -(-window_ns // step_ns)), window=window_ns, threshold=threshold, ratio=ratio,
        min_count=min_count, for_=int(settings.for_ * NS), resolve_after=int(settings.resolve_after * NS),
        lateness=int(lateness * NS), forget_after=forget, max_groups=settings.max_groups, schedule=schedule,
    )


def group_of(rule_fields: tuple[str, ...], event: dict[str, Any], service: Any, host: Any) -> Group:
    """The (field, value) pairs of `rule_fields` for `event`; a missing field has the empty value."""
    pairs = []
    for name in rule_fields:
        if name in ("service", "service.name"):
            value = service
        elif name in ("host", "host.name"):
            value = host
        else:
            attributes = event.get("attributes")
            value = attributes.get(name.removeprefix("attributes.")) if type(attributes) is dict else None
        pairs.append((name, "" if value is None else value if type(value) is str else str(value)))
    return tuple(pairs)
