"""The alert state machine: windows of counts per rule and group, and each alert's moves PENDING -> FIRING -> RESOLVED.

The engine alone changes alerts. It is fed prepared events (`ingest`) and turned by the clock (`evaluate`); both
return the changes (FIRING, and RESOLVED of an alert that fired) that the notifier must see. It keeps no events,
only counts per bucket of event time, and it holds nothing but what consumer.alerting.store saves and loads, so a
restart continues exactly where the last committed transaction left it.

Time:
- Windows are on event time. A bucket holds the matching (and, for ratio rules, all) events of a group whose
  timestamps fall in it. "The condition holds at bucket b" is about the window ending with b.
- `now` is the newest of wall time and the newest event time read; the `frontier` is now minus the allowed
  lateness (while the evaluator catches up on a backlog, the newest event time read minus it): buckets before it are
  final. Counts only grow, so a threshold that held once holds for good and fires as soon as it is seen; a
  condition that stops holding is only acted on behind the frontier (resolution, a pending alert that never fired).
- An alert is `late` when it was decided from buckets already behind wall time by more than the allowed lateness:
  a backlog is evaluated at the times it happened and marked, never fired as if it happened now.
- Absence rules read wall time (minus the allowed lateness): the events that are not there have no time.

Identity: an alert's episode is the start of the bucket in which its condition began to hold (threshold, ratio),
the interval's start (match), when the absence began (absence) or the deadline (schedule). After an alert resolved,
its group cannot start another episode at or before the bucket that resolved it (`closed_until`).
"""

from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any

from consumer.alerting.compiled import NS, Group, Rule, RuleKind
from consumer.alerting.fastpath import Item, count_batch
from consumer.alerting.model import Alert, AlertKey, AlertState
from schemas.timefmt import format_ns

SAMPLES = 5
FULL_PRUNE_TURNS = 60  # every this many clock turns, every group's buckets are pruned (else only open groups')
NEVER = -(2**62)


@dataclass
class GroupState:
    """What one rule remembers of one group."""

    buckets: dict[int, list[int]] = field(default_factory=dict)  # bucket -> [matching, all]
    first_seen: int = 0  # event time (ns)
    last_seen: int = NEVER
    last_matched: int = NEVER
    samples: list[str] = field(default_factory=list)
    closed_until: int = NEVER  # no new episode at or before this bucket
    active: Alert | None = None  # threshold, ratio, absence, schedule: the pending or firing alert
    last_hold: int = NEVER  # the last bucket its condition held in
    intervals: dict[int, Alert] = field(default_factory=dict)  # match: open intervals' alerts
    present_since: int | None = None  # absence: wall time the group came back (resolve_after)
    interval_samples: dict[int, list[str]] = field(default_factory=dict)  # match: the first samples per open interval
    dirty: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"b": [[b, c[0], c[1]] for b, c in sorted(self.buckets.items())], "f": self.first_seen,
                "s": self.last_seen, "m": self.last_matched, "x": self.samples, "c": self.closed_until,
                "a": None if self.active is None else self.active.key.fingerprint, "h": self.last_hold,
                "i": {str(i): a.key.fingerprint for i, a in self.intervals.items()}, "p": self.present_since,
                "y": {str(i): s for i, s in self.interval_samples.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any], alerts: dict[str, Alert]) -> "GroupState":
        state = cls(buckets={int(b): [int(m), int(t)] for b, m, t in data["b"]}, first_seen=data["f"],
                    last_seen=data["s"], last_matched=data["m"], samples=list(data["x"]), closed_until=data["c"],
                    active=alerts.get(data["a"]) if data["a"] else None, last_hold=data["h"],
                    intervals={int(i): alerts[f] for i, f in data["i"].items() if f in alerts},
                    present_since=data["p"], dirty=False,
                    interval_samples={int(i): list(s) for i, s in data.get("y", {}).items()})
        return state


@dataclass
class RuleState:
    """What one rule remembers across groups."""

    groups: "OrderedDict[Group, GroupState]" = field(default_factory=OrderedDict)  # least recently seen first
    known_since: int | None = None  # wall time the rule was first evaluated (absence without group_by)
    last_deadline: int | None = None  # schedule: the last occurrence checked
    dirty: bool = True
    forgotten: list[Group] = field(default_factory=list)  # groups dropped since the last save
    open: set[Group] = field(default_factory=set)  # groups with a pending or firing alert (or an open interval)


def duration_text(ns: int) -> str:
    seconds = ns / NS
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _group_text(group: Group) -> str:
    return ",".join(f"{name}={value}" for name, value in group) or "all events"


def _quoted(value: str) -> str:
    if value and not any(c.isspace() or c in '"\\' for c in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Engine:
    """The evaluator's state for its rules (see the module's docstring)."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self.states: list[RuleState] = [RuleState() for _ in rules]
        self.newest_event = NEVER  # newest event time read (ns)
        self.changed: dict[str, Alert] = {}  # alerts changed since the last save, by fingerprint
        self._turns = 0

    # -- events ------------------------------------------------------------------------------------------------

    def ingest(self, items: list[Item], wall: int, *, catching_up: bool) -> list[Alert]:
        """Count prepared events, then evaluate the groups they touched; the changes to notify."""
        touched = self.count(items)
        rules, states = self.rules, self.states
        changes: list[Alert] = []
        for index, group, low in touched:
            rule = rules[index]
            found = states[index].groups.get(group)
            if found is None:
                continue
            state = found
            if rule.kind in (RuleKind.THRESHOLD, RuleKind.RATIO):
                self._scan(rule, group, state, low, wall=wall, catching_up=catching_up, changes=changes)
            elif rule.kind is RuleKind.MATCH:
                self._match_opened(rule, group, state, low, wall=wall, changes=changes)
            elif rule.kind is RuleKind.SCHEDULE and state.active is not None:
                # A matching event after the deadline passed: the job ran (late); the alert resolves.
                self._resolve_absence(rule, group, state, max(state.last_matched, state.active.started_at), changes)
        return changes

    def count(self, items: list[Item]) -> list[tuple[int, Group, int]]:
        """Count `items` into the groups' windows; the (rule index, group, lowest bucket) touched, in the order first
        hit. consumer.alerting.fastpath counts the batch; where it cannot be exact, hit by hit (`count_each`)."""
        touched = count_batch(self, items, GroupState)
        return touched if touched is not None else self.count_each(items)

    def count_each(self, items: list[Item]) -> list[tuple[int, Group, int]]:
        """Count `items` hit by hit (the reference of consumer.alerting.fastpath.count_batch, and its fallback); the
        (rule index, group, lowest bucket) touched, in the order first hit."""
        touched: dict[tuple[int, Group], int] = {}
        rules = self.rules
        newest = self.newest_event
        for stamp, hits, sample in items:
            newest = max(newest, stamp)
            for _, matched, index, group in hits:
                rule = rules[index]
                state = self._group(index, group, stamp)
                bucket = stamp // rule.step
                counts = state.buckets.get(bucket)
                if counts is None:
                    counts = state.buckets[bucket] = [0, 0]
                counts[1] += 1
                state.last_seen = max(state.last_seen, stamp)
                if matched:
                    counts[0] += 1
                    state.last_matched = max(state.last_matched, stamp)
                    if sample is not None and rule.kind is RuleKind.MATCH:
                        kept = state.interval_samples.setdefault(bucket, [])
                        if len(kept) < SAMPLES:
                            kept.append(sample)
                    elif sample is not None:
                        samples = state.samples
                        samples.append(sample)
                        if len(samples) > SAMPLES:
                            del samples[0]
                state.dirty = True
                key = (index, group)
                low = touched.get(key)
                if low is None or bucket < low:
                    touched[key] = bucket
        self.newest_event = newest
        return [(index, group, low) for (index, group), low in touched.items()]

    def _group(self, index: int, group: Group, stamp: int) -> GroupState:
        groups = self.states[index].groups
        state = groups.get(group)
        if state is None:
            state = groups[group] = GroupState(first_seen=stamp)
            if len(groups) > self.rules[index].max_groups:
                self._forget_one(index)
        else:
            groups.move_to_end(group)
        return state

    def _forget_one(self, index: int) -> None:
        """Drop the least recently seen group that has no open alert."""
        rule_state = self.states[index]
        for group, state in rule_state.groups.items():
            if state.active is None and not state.intervals:
                del rule_state.groups[group]
                rule_state.forgotten.append(group)
                return

    # -- the clock ---------------------------------------------------------------------------------------------

    def now(self, wall: int) -> int:
        return max(wall, self.newest_event)

    def frontier(self, rule: Rule, wall: int, catching_up: bool) -> int:
        base = self.newest_event if catching_up else self.now(wall)
        return base - rule.lateness

    def evaluate(self, wall: int, *, catching_up: bool) -> list[Alert]:
        """One turn of the clock: resolutions, pending alerts that never fired, closed match intervals, absences."""
        changes: list[Alert] = []
        self._turns += 1
        full = self._turns % FULL_PRUNE_TURNS == 0
        for rule, rule_state in zip(self.rules, self.states, strict=True):
            if rule.kind in (RuleKind.THRESHOLD, RuleKind.RATIO):
                for group in list(rule_state.open):
                    state = rule_state.groups[group]
                    if state.active is not None:
                        self._scan(rule, group, state, state.last_hold + 1, wall=wall, catching_up=catching_up,
                                   changes=changes)
            elif rule.kind is RuleKind.MATCH:
                self._match_closed(rule, rule_state, wall, catching_up, changes)
            elif not catching_up:
                if rule.kind is RuleKind.ABSENCE:
                    self._absence(rule, rule_state, wall, changes)
                else:
                    self._schedule(rule, rule_state, wall, changes)
            if full or rule.kind in (RuleKind.ABSENCE, RuleKind.SCHEDULE):
                self._prune(rule, rule_state, list(rule_state.groups), wall, catching_up)
            else:
                self._prune(rule, rule_state, list(rule_state.open), wall, catching_up)
        return changes

    def _prune(self, rule: Rule, rule_state: RuleState, groups: list[Group], wall: int, catching_up: bool) -> None:
        """Forget buckets no evaluation can need, and groups not seen for forget_after (absence rules)."""
        if rule.kind is RuleKind.SCHEDULE:
            keep = (wall - rule.lateness) // rule.step
        elif rule.kind is RuleKind.ABSENCE:
            keep = (wall - rule.lateness - rule.window) // rule.step - 1
        else:
            keep = self.frontier(rule, wall, catching_up) // rule.step - rule.buckets - rule.for_ // rule.step - 2
        expired = wall - rule.forget_after if rule.forget_after else None
        for group in groups:
            state = rule_state.groups.get(group)
            if state is None:
                continue
            floor = keep if state.active is None else min(keep, state.last_hold - rule.buckets)
            old = [b for b in state.buckets if b < floor]
            if old:
                for b in old:
                    del state.buckets[b]
                state.dirty = True
            if (expired is not None and state.active is None and max(state.last_seen, state.first_seen) < expired):
                del rule_state.groups[group]
                rule_state.forgotten.append(group)

    # -- threshold and ratio -----------------------------------------------------------------------------------

    def _holds(self, rule: Rule, matched: int, total: int) -> bool:
        if rule.kind is RuleKind.RATIO:
            return total >= rule.min_count and matched >= rule.ratio * total
        return matched >= rule.threshold

    def _scan(self, rule: Rule, group: Group, state: GroupState, low: int, *, wall: int, catching_up: bool,
              changes: list[Alert]) -> None:
        """Walk the windows ending at buckets from `low` on (see the module's docstring); record the moves."""
        start = max(low, state.closed_until + 1)
        if state.active is not None:
            start = max(start, state.last_hold + 1)
        buckets = state.buckets
        last_filled = NEVER if not buckets else max(buckets)
        now_bucket = self.now(wall) // rule.step
        final_bucket = self.frontier(rule, wall, catching_up) // rule.step - 1
        end = min(now_bucket, last_filled + rule.buckets)
        width = rule.buckets
        matched = total = 0
        for b in range(start - width, start):
            counts = buckets.get(b)
            if counts is not None:
                matched += counts[0]
                total += counts[1]
        b = start
        while b <= end:
            counts = buckets.get(b)
            if counts is not None:
                matched += counts[0]
                total += counts[1]
            gone = buckets.get(b - width)
            if gone is not None:
                matched -= gone[0]
                total -= gone[1]
            if self._holds(rule, matched, total):
                self._held(rule, group, state, b, matched=matched, total=total, wall=wall, changes=changes)
            elif state.active is None:
                if b >= last_filled and (rule.kind is RuleKind.THRESHOLD or total < rule.min_count):
                    # From the newest bucket on, each window holds a part of the one before it (buckets only leave
                    # it): when this one has too few events, no later one holds, and nothing else is decided here.
                    break
            elif b <= final_bucket:
                self._missed(rule, group, state, b, changes)
            # A window past final_bucket that does not hold is undecided (late events may still make it hold): no
            # miss is recorded, but the scan goes on, since a later window of the same batch may hold already.
            b += 1
        active = state.active
        if active is not None and active.state is AlertState.FIRING and b > last_filled + width:
            # Every window from here on is empty: decide at once instead of walking empty buckets.
            due = state.last_hold + max(1, -(-rule.resolve_after // rule.step))
            if due <= final_bucket:
                self._missed(rule, group, state, due, changes, force=True)

    def _held(self, rule: Rule, group: Group, state: GroupState, b: int, *, matched: int, total: int, wall: int,
              changes: list[Alert]) -> None:
        active = state.active
        count = matched
        if active is None:
            episode = b * rule.step
            key = AlertKey(rule.name, group, episode)
            late = (b + 1) * rule.step < wall - rule.lateness
            active = Alert(key=key, state=AlertState.PENDING, severity=rule.severity, labels=self._labels(rule, group),
                           summary="", started_at=episode, fired_at=None, resolved_at=None, count=count, late=late,
                           samples=tuple(state.samples), search=self._search(rule, group, episode, None),
                           annotations=dict(rule.settings.annotations))
        state.last_hold = b
        if active.state is AlertState.PENDING and (b + 1) * rule.step - active.started_at >= rule.for_ + rule.step:
            fired = active.started_at + rule.for_
            active = replace(active, state=AlertState.FIRING, fired_at=fired, samples=tuple(state.samples),
                             late=active.late or fired < wall - rule.lateness)
            active = replace(active, count=count, summary=self._summary(rule, group, matched, total))
            changes.append(active)
        else:
            active = replace(active, count=max(active.count, count), summary=self._summary(rule, group, matched, total))
        state.active = active
        self.states[rule.index].open.add(group)
        self.changed[active.key.fingerprint] = active
        state.dirty = True

    def _missed(self, rule: Rule, group: Group, state: GroupState, b: int, changes: list[Alert], *,
                force: bool = False) -> bool:
        """The condition does not hold at final bucket `b`: a pending alert ends, a firing one resolves once it did
        not hold for resolve_after. Whether the alert ended."""
        active = state.active
        assert active is not None
        if active.state is AlertState.FIRING and not force and (b - state.last_hold) * rule.step < rule.resolve_after:
            return False
        resolved_at = (state.last_hold + 1) * rule.step + (rule.resolve_after if active.state is AlertState.FIRING else 0)
        ended = replace(active, state=AlertState.RESOLVED, resolved_at=resolved_at,
                        search=self._search(rule, group, active.started_at, resolved_at))
        if active.state is AlertState.FIRING:
            changes.append(ended)
        self.changed[ended.key.fingerprint] = ended
        state.active = None
        self.states[rule.index].open.discard(group)
        state.closed_until = b
        state.dirty = True
        return True

    # -- match ---------------------------------------------------------------------------------------------------

    def _match_opened(self, rule: Rule, group: Group, state: GroupState, low: int, *, wall: int,
                      changes: list[Alert]) -> None:
        for interval in sorted(b for b in state.buckets if b >= low):
            counts = state.buckets[interval]
            if interval <= state.closed_until or not counts[0]:
                state.interval_samples.pop(interval, None)
                continue
            alert = state.intervals.get(interval)
            if alert is None:
                episode = interval * rule.step
                key = AlertKey(rule.name, group, episode)
                alert = Alert(key=key, state=AlertState.FIRING, severity=rule.severity, labels=self._labels(rule, group),
                              summary=self._summary(rule, group, counts[0], counts[1]), started_at=episode,
                              fired_at=episode, resolved_at=None, count=counts[0],
                              late=(interval + 1) * rule.step < wall - rule.lateness,
                              samples=tuple(state.interval_samples.get(interval, ())),
                              search=self._search(rule, group, episode, episode + rule.step),
                              annotations=dict(rule.settings.annotations))
                changes.append(alert)
            else:
                alert = replace(alert, count=counts[0], summary=self._summary(rule, group, counts[0], counts[1]),
                                samples=tuple(state.interval_samples.get(interval, ())))
            state.intervals[interval] = alert
            self.states[rule.index].open.add(group)
            self.changed[alert.key.fingerprint] = alert
            state.dirty = True

    def _match_closed(self, rule: Rule, rule_state: RuleState, wall: int, catching_up: bool,
                      changes: list[Alert]) -> None:
        frontier = self.frontier(rule, wall, catching_up)
        for group in list(rule_state.open):
            state = rule_state.groups[group]
            for interval in sorted(i for i in state.intervals if (i + 1) * rule.step <= frontier):
                alert = state.intervals.pop(interval)
                state.interval_samples.pop(interval, None)
                ended = replace(alert, state=AlertState.RESOLVED, resolved_at=(interval + 1) * rule.step)
                changes.append(ended)
                self.changed[ended.key.fingerprint] = ended
                state.closed_until = max(state.closed_until, interval)
                state.dirty = True
            if not state.intervals:
                rule_state.open.discard(group)

    # -- absence ------------------------------------------------------------------------------------------------

    def _absence(self, rule: Rule, rule_state: RuleState, wall: int, changes: list[Alert]) -> None:
        at = wall - rule.lateness
        if rule_state.known_since is None:
            rule_state.known_since = at
            rule_state.dirty = True
        if not rule.group_by and () not in rule_state.groups:
            rule_state.groups[()] = GroupState(first_seen=rule_state.known_since)
        first, last = (at - rule.window) // rule.step + 1, at // rule.step
        for group, state in rule_state.groups.items():
            seen = sum(c[0] for b, c in state.buckets.items() if first <= b <= last)
            active = state.active
            if seen >= rule.threshold:
                if active is not None:
                    if state.present_since is None:
                        state.present_since = wall
                        state.dirty = True
                    if wall - state.present_since >= rule.resolve_after:
                        self._resolve_absence(rule, group, state, wall, changes)
                continue
            state.present_since = None
            began = (state.last_matched if state.last_matched > NEVER else state.first_seen) + rule.window
            if at - state.first_seen < rule.window or began > at:
                continue  # not a whole window known yet
            if active is None:
                if began // rule.step <= state.closed_until:
                    continue
                active = Alert(key=AlertKey(rule.name, group, began), state=AlertState.PENDING, severity=rule.severity,
                               labels=self._labels(rule, group), summary=self._absent_summary(rule, group, seen),
                               started_at=began, fired_at=None, resolved_at=None, count=seen, late=False,
                               search=self._search(rule, group, began - rule.window, None),
                               annotations=dict(rule.settings.annotations))
            if active.state is AlertState.PENDING and at - began >= rule.for_:
                active = replace(active, state=AlertState.FIRING, fired_at=began + rule.for_)
                changes.append(active)
            state.active = active
            rule_state.open.add(group)
            self.changed[active.key.fingerprint] = active
            state.dirty = True

    def _resolve_absence(self, rule: Rule, group: Group, state: GroupState, when: int, changes: list[Alert]) -> None:
        active = state.active
        assert active is not None
        ended = replace(active, state=AlertState.RESOLVED, resolved_at=when)
        if active.state is AlertState.FIRING:
            changes.append(ended)
        self.changed[ended.key.fingerprint] = ended
        state.active = None
        self.states[rule.index].open.discard(group)
        state.present_since = None
        state.closed_until = max(state.closed_until, when // rule.step)
        state.dirty = True

    def _schedule(self, rule: Rule, rule_state: RuleState, wall: int, changes: list[Alert]) -> None:
        schedule = rule.schedule
        assert schedule is not None
        at = wall - rule.lateness
        if rule_state.last_deadline is None:
            rule_state.last_deadline = schedule.previous_before(at)
            rule_state.known_since = at
            rule_state.dirty = True
        if not rule.group_by and () not in rule_state.groups:
            rule_state.groups[()] = GroupState(first_seen=rule_state.known_since or at)
        deadline = schedule.next_after(rule_state.last_deadline)
        turns = 0
        while deadline <= at:
            turns += 1
            if turns > 100:  # the evaluator was off for long: judge the last period only
                rule_state.last_deadline = schedule.previous_before(schedule.previous_before(at) - 1)
                deadline = schedule.next_after(rule_state.last_deadline)
                turns = 0
            period = rule_state.last_deadline
            for group, state in rule_state.groups.items():
                if state.active is not None or state.last_matched > period:
                    continue
                summary = (f"No matching event for {_group_text(group)} between {format_ns(period)} and "
                           f"{format_ns(deadline)} (schedule {schedule.text!r} in {schedule.zone.key}).")
                alert = Alert(key=AlertKey(rule.name, group, deadline), state=AlertState.FIRING, severity=rule.severity,
                              labels=self._labels(rule, group), summary=summary, started_at=deadline,
                              fired_at=deadline, resolved_at=None, count=0, late=False,
                              search=self._search(rule, group, period, deadline),
                              annotations=dict(rule.settings.annotations))
                changes.append(alert)
                state.active = alert
                rule_state.open.add(group)
                self.changed[alert.key.fingerprint] = alert
                state.dirty = True
            rule_state.last_deadline = deadline
            rule_state.dirty = True
            deadline = schedule.next_after(deadline)

    # -- texts ---------------------------------------------------------------------------------------------------

    def _labels(self, rule: Rule, group: Group) -> dict[str, str]:
        return {"rule": rule.name, "severity": rule.severity.value, **dict(group), **rule.settings.labels}

    def _summary(self, rule: Rule, group: Group, matched: int, total: int) -> str:
        window = duration_text(rule.window)
        if rule.kind is RuleKind.RATIO:
            share = matched / total if total else 0.0
            return (f"{share:.1%} of {total} events matched in {window} for {_group_text(group)} "
                    f"(ratio {rule.ratio:.1%}).")
        if rule.kind is RuleKind.MATCH:
            return f"{matched} matching event{'s' if matched != 1 else ''} in {window} for {_group_text(group)}."
        return f"{matched} matching events in {window} for {_group_text(group)} (threshold {rule.threshold})."

    def _absent_summary(self, rule: Rule, group: Group, seen: int) -> str:
        return (f"{seen} matching event{'s' if seen != 1 else ''} in {duration_text(rule.window)} for "
                f"{_group_text(group)}, fewer than {rule.threshold}.")

    def _search(self, rule: Rule, group: Group, since: int, until: int | None) -> str:
        terms = [rule.matcher.text.strip()] if rule.matcher.text.strip() else []
        for name, value in group:
            terms.append(f"{name}:{_quoted(value)}")
        text = " ".join(terms)
        since_text = format_ns(since - (rule.window if rule.kind in (RuleKind.THRESHOLD, RuleKind.RATIO) else 0))
        until_text = f" --until {format_ns(until)}" if until is not None else ""
        return f"{text} --since {since_text}{until_text}".strip()
