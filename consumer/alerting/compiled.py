"""Rules ready to evaluate: times in nanoseconds, queries compiled, and the per-event dispatch (`Dispatch.prepare`).

`Dispatch.prepare(event)` is the hot path: the rules an event concerns, with its group and whether it matched, or
None when no rule cares. Field filters (service, host, severity) are decided once per distinct (service, host,
severity) triple and cached (bounded); only the rules left look at the body and the attributes.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from consumer.alerting.cron import Schedule, parse_cron
from consumer.alerting.matcher import Body, Clause, Matcher, _attribute_texts, body_text, compile_query
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


MATCH, TOTAL = 0, 1  # what a clause decides for its rule: the event matches, or counts in the denominator
# A clause to check, with its rule and role; None for a clause its index lookup already decided.
_Check = tuple[int, Clause | None, int]


@dataclass(frozen=True)
class Plan:
    """For one (service, host, severity): what to look at in an event, indexed so that the work per event follows the
    rules it may concern, not the number of rules.

    `matched` / `counted`: rules the fields alone decide. `by_needle`: clauses with words, by one of their needles (a
    lower-case text an ASCII body must contain), each needle tested once. `by_attribute`: clauses with attributes and
    no words, by their first attribute's key, then value. `others`: the rest, checked one by one."""

    matched: tuple[int, ...]
    counted: tuple[int, ...]
    by_needle: dict[str, tuple[_Check, ...]]
    by_attribute: dict[str, dict[str, tuple[_Check, ...]]]
    others: tuple[_Check, ...]
    # The hits of `matched` and `counted` (rule index, group or None when it depends on attributes, matched), in
    # rule order: what prepare() returns when no clause needs a closer look.
    fixed: tuple[tuple[int, Group | None, bool], ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.matched or self.counted or self.by_needle or self.by_attribute or self.others)


def plan_for(rules: list[Rule], severity: int, service: Any, host: Any) -> Plan:
    matched: list[int] = []
    counted: list[int] = []
    needles: dict[str, list[_Check]] = {}
    attributes: dict[str, dict[str, list[_Check]]] = {}
    others: list[_Check] = []
    for rule in rules:
        for role, matcher in ((MATCH, rule.matcher), (TOTAL, rule.total)):
            if matcher is None:
                continue
            clauses = [c for c in matcher.clauses if c.fields_pass(severity, service, host)]
            if any(c.fields_only for c in clauses):
                (matched if role == MATCH else counted).append(rule.index)
                continue
            for clause in clauses:
                check = (rule.index, clause, role)
                if clause.needles:
                    needles.setdefault(max(clause.needles, key=len), []).append(check)
                elif clause.attributes:
                    key, value = clause.attributes[0]
                    decided = len(clause.attributes) == 1 and clause.trace_id is None
                    attributes.setdefault(key, {}).setdefault(value, []).append(
                        (rule.index, None, role) if decided else check)
                else:
                    others.append(check)
    fixed = []
    for index in sorted({*matched, *counted}):
        rule = rules[index]
        fields = rule.group_by
        constant = all(name in _RESOURCE_FIELDS for name in fields)
        fixed.append((index, group_of(fields, {}, service, host) if constant else None, index in matched))
    return Plan(tuple(matched), tuple(counted), {k: tuple(v) for k, v in needles.items()},
                {k: {v: tuple(c) for v, c in by.items()} for k, by in attributes.items()}, tuple(others),
                tuple(fixed))


_RESOURCE_FIELDS = frozenset({"service", "service.name", "host", "host.name"})


_stamps: dict[str, int] = {}


def event_time(text: str) -> int:
    """The event's timestamp in ns; the schema's `2026-05-01T12:00:00.123456789Z` form by its cached second."""
    if len(text) == 30 and text[19] == "." and text[29] == "Z":
        head = text[:19]
        base = _stamps.get(head)
        if base is None:
            if len(_stamps) >= CACHE_LIMIT:
                _stamps.clear()
            base = _stamps[head] = parse_rfc3339_ns(head + "Z")
        fraction = text[20:29]
        if fraction.isdigit():
            return base + int(fraction)
    return parse_rfc3339_ns(text)


class Dispatch:
    """Decides which rules an event concerns (see the module's docstring)."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self._cache: dict[tuple[Any, Any, int], Plan] = {}

    def prepare(self, event: dict[str, Any], raw: bytes = b"") -> Item | None:
        resource = event.get("resource")
        if type(resource) is not dict:
            resource = {}
        service, host = resource.get("service.name"), resource.get("host.name")
        severity = event.get("severity_number") or 0
        key = (service, host, severity)
        plan = self._cache.get(key)
        if plan is None:
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            plan = self._cache[key] = plan_for(self.rules, severity, service, host)
        matched: set[int] | tuple[int, ...] = plan.matched
        counted: set[int] | tuple[int, ...] = plan.counted
        checks: list[_Check] = []
        text: str | None = None
        if plan.by_needle:
            text = body_text(event)
            if text.isascii():
                lower = text.lower()
                for needle, found in plan.by_needle.items():
                    if needle in lower:
                        checks.extend(found)
            else:
                for found in plan.by_needle.values():
                    checks.extend(found)
        if plan.by_attribute:
            attributes = event.get("attributes")
            if type(attributes) is dict:
                for name, by_value in plan.by_attribute.items():
                    for value in _attribute_texts(attributes, name):
                        decided = by_value.get(value)
                        if decided is not None:
                            checks.extend(decided)
        if plan.others:
            checks.extend(plan.others)
        if checks:
            body: Body | None = None
            matched, counted = set(matched), set(counted)
            for index, clause, role in checks:
                chosen = matched if role == MATCH else counted
                if index in chosen:
                    continue
                if clause is None:
                    chosen.add(index)
                    continue
                if body is None:
                    body = Body(event)
                if clause.rest_passes(event, body):
                    chosen.add(index)
        if not matched and not counted:
            return None
        rules = self.rules
        hits: list[Hit] = []
        sample = None
        if not checks:
            for index, group, is_match in plan.fixed:
                if is_match and sample is None:
                    sample = (text if text is not None else body_text(event)).split("\n", 1)[0][:SAMPLE_CHARS]
                hits.append((index, group if group is not None else group_of(rules[index].group_by, event, service, host),
                             is_match, sample if is_match else None))
            return event_time(event["timestamp"]), tuple(hits)
        for index in sorted({*matched, *counted}) if counted else matched:
            rule = rules[index]
            is_match = index in matched
            if is_match and sample is None:
                sample = (text if text is not None else body_text(event)).split("\n", 1)[0][:SAMPLE_CHARS]
            hits.append((index, group_of(rule.group_by, event, service, host) if rule.group_by else (), is_match,
                         sample if is_match else None))
        return event_time(event["timestamp"]), tuple(hits)
