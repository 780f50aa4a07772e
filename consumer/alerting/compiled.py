"""Rules ready to evaluate: times in nanoseconds, queries compiled, and the per-event dispatch (`Dispatch.prepare`).

`Dispatch.prepare(event)` is the hot path: the rules an event concerns, with its group and whether it matched, or
None when no rule cares. Field filters (service, host, severity) are decided once per distinct (service, host,
severity) triple and cached (bounded); only the rules left look at the body and the attributes.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from consumer.alerting.cron import Schedule, parse_cron
from consumer.alerting.matcher import Body, Clause, Matcher, body_text, compile_query
from consumer.alerting.model import Severity
from consumer.alerting.rules import AbsenceRule, MatchRule, RatioRule, RuleSettings, ThresholdRule
from schemas.timefmt import parse_rfc3339_ns

NS = 1_000_000_000
SAMPLE_CHARS = 200
CACHE_LIMIT = 4096

Group = tuple[tuple[str, str], ...]
# One rule an event concerns: (rule index, group, matched, first line of the body when matched).
Hit = tuple[int, Group, bool, str | None]
# What prepare() makes of an event: its time and its hits.
Item = tuple[int, tuple[Hit, ...]]


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


# Per rule, for one (service, host, severity): the clauses of its match and of its total whose fields pass.
_Candidate = tuple[Rule, tuple[Clause, ...], tuple[Clause, ...]]


class Dispatch:
    """Decides which rules an event concerns (see the module's docstring)."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self._cache: dict[tuple[Any, Any, int], tuple[_Candidate, ...]] = {}

    def _candidates(self, service: Any, host: Any, severity: int) -> tuple[_Candidate, ...]:
        found = []
        for rule in self.rules:
            match = tuple(c for c in rule.matcher.clauses if c.fields_pass(severity, service, host))
            total = () if rule.total is None else tuple(
                c for c in rule.total.clauses if c.fields_pass(severity, service, host))
            if match or total:
                found.append((rule, match, total))
        return tuple(found)

    def prepare(self, event: dict[str, Any], raw: bytes = b"") -> Item | None:
        resource = event.get("resource")
        if type(resource) is not dict:
            resource = {}
        service, host = resource.get("service.name"), resource.get("host.name")
        severity = event.get("severity_number") or 0
        key = (service, host, severity)
        candidates = self._cache.get(key)
        if candidates is None:
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            candidates = self._cache[key] = self._candidates(service, host, severity)
        if not candidates:
            return None
        body: Body | None = None
        hits: list[Hit] = []
        for rule, match, total in candidates:
            matched = False
            if match:
                if body is None:
                    body = Body(event)
                for clause in match:
                    if clause.rest_passes(event, body):
                        matched = True
                        break
            counted = matched
            if not matched and total:
                if body is None:
                    body = Body(event)
                counted = any(clause.rest_passes(event, body) for clause in total)
            if counted:
                sample = None
                if matched:
                    sample = body_text(event).split("\n", 1)[0][:SAMPLE_CHARS]
                hits.append((rule.index, group_of(rule.group_by, event, service, host) if rule.group_by else (),
                             matched, sample))
        if not hits:
            return None
        return parse_rfc3339_ns(event["timestamp"]), tuple(hits)
