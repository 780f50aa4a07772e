"""The evaluator's hot path, in one place: which rules an event concerns (`Dispatch.prepare`), and the counting of a
batch's hits into the windows (`count_batch`). What it decides is what the straightforward evaluation decides
(every rule's matcher asked about every event, and each hit counted one by one: Engine.count_each);
tests/alerting/test_eval_fastpath.py checks the two against each other over random rules and events.

How it is fast:
- Per distinct (service, host, severity) a `Plan` is made once (bounded cache) from an index of the rules' clauses by
  service, so making one looks at the clauses that can pass, not at every rule. The plan holds the hits the fields
  alone decide, ready made: an event no body or attribute clause concerns costs a dict lookup and its timestamp.
- Words: each needle (a lower-case text an ASCII body must contain) is tested once on the body lowered once; the body
  is tokenized only when a clause with words survived that test (matcher.Body, lazily).
- Attributes: clauses with attributes and no words are looked up by key, then value (an integer attribute by its
  value, without making its text).
- A hit names the (rule, group) it counts for by a number the Dispatch interns (`slot_key`), so the batch's counting
  does no hashing of groups per event. `count_batch` adds a batch's hits up per slot (a scratch record per (rule,
  group) of the batch) and bucket, then touches each group's state once.
- What `prepare` returns holds atoms only (ints, texts, bools, tuples of them): the cyclic garbage collector untracks
  such tuples the first time it sees them, so the batch's items (one per event, kept until the batch is committed)
  do not pile up in its older generations to be walked again by every full collection (with a reference to an object
  in them, 20,000 items a batch made a full collection per batch, a fifth of the evaluator's CPU).
"""

import itertools
from typing import Any, cast

from consumer.alerting.compiled import Group, Rule, RuleKind, group_of
from consumer.alerting.matcher import Body, Clause, _attribute_texts, body_text, tokens
from schemas.timefmt import parse_rfc3339_ns

SAMPLE_CHARS = 200
CACHE_LIMIT = 4096
MADE_LIMIT = 64  # combinations of rules added by checks remembered per plan
SLOT_LIMIT = 200_000  # interned (rule, group) keys; beyond it the table starts afresh (counting stays exact)
NEVER = -(2**62)
MATCH, TOTAL = 0, 1  # what a clause decides for its rule: the event matches, or counts in the denominator

# A rule (and group) the event concerns: the (rule, group)'s interned key, whether the event matched (else: it only
# counts), the rule's index and the group. Atoms only (see the module's docstring).
Hit = tuple[int, bool, int, Group]
# What prepare() makes of an event: its time, its hits in rule order, and its first line when some hit matched.
Item = tuple[int, tuple[Hit, ...], str | None]
# A clause to look at for one rule and role; the clause is None when its index lookup already decided it.
_Check = tuple[int, int, Clause | None]
# Clauses by one attribute: its key, the key's head when dotted (else ""), then by the value's text, and by the
# integer whose text it is.
_ByAttribute = tuple[str, str, dict[str, tuple[_Check, ...]], dict[int, tuple[_Check, ...]]]
# Clauses with words by a needle: the needle, its clauses, and (when many) the same clauses by a token each needs.
_ByNeedle = tuple[str, tuple[_Check, ...], dict[str, tuple[_Check, ...]] | None]


def _body(event: dict[str, Any]) -> str:
    """matcher.body_text, without a call for the common text body."""
    body = event.get("body")
    if type(body) is str:
        return body
    return body_text(event)


def sample_of(text: str) -> str:
    """The first line of a body, at most SAMPLE_CHARS characters."""
    if "\n" in text:
        text = text.split("\n", 1)[0]
    return text[:SAMPLE_CHARS]


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


class Template:
    """What the clauses decide for every (service, host, severity) they cannot tell apart: the rules the fields alone
    decide, and the clauses to look at, indexed (see the module's docstring)."""

    __slots__ = ("by_attribute", "by_needle", "decided", "others")

    def __init__(self, decided: dict[int, bool], by_needle: tuple[_ByNeedle, ...],
                 by_attribute: tuple[_ByAttribute, ...], others: tuple[_Check, ...]) -> None:
        self.decided = decided  # rule index -> matched (True) or only counted (False), by the fields alone
        self.by_needle = by_needle
        self.by_attribute = by_attribute
        self.others = others


class Plan:
    """A template made concrete for one (service, host, severity): the decided rules' hits with their groups."""

    __slots__ = ("by_attribute", "by_needle", "combined", "decided", "dynamic", "fixed", "fixed_match", "made",
                 "others", "simple")

    def __init__(self, template: Template, fixed: tuple[Hit, ...], dynamic: tuple[tuple[int, bool], ...]) -> None:
        self.decided = template.decided
        self.fixed = fixed  # the hits of `decided` rules whose group the fields make, in rule order
        self.dynamic = dynamic  # `decided` rules whose group depends on the attributes: (index, matched)
        self.fixed_match = any(hit[1] for hit in fixed) or any(matched for _, matched in dynamic)
        self.by_needle = template.by_needle
        self.by_attribute = template.by_attribute
        self.others = template.others
        self.simple = not (dynamic or self.by_needle or self.by_attribute or self.others)
        # id of a tuple of checks all decided by their lookup (no clause) -> the hits with them: made once
        self.combined: dict[int, tuple[Hit, ...]] = {}
        # the rules the checks added (index, matched), when their groups are the fields' -> the hits: made once
        self.made: dict[tuple[tuple[int, bool], ...], tuple[Hit, ...]] = {}


_RESOURCE_FIELDS = frozenset({"service", "service.name", "host", "host.name"})
TOKEN_INDEX_FROM = 3  # a needle shared by this many clauses or more: its clauses are also indexed by a token


def _by_token(checks: list[_Check]) -> dict[str, tuple[_Check, ...]] | None:
    """`checks` (clauses with words) by one token each clause needs (the one fewest of them share), or None when
    there are too few to be worth it."""
    if len(checks) < TOKEN_INDEX_FROM:
        return None
    shared: dict[str, int] = {}
    for _, _, clause in checks:
        assert clause is not None
        for token in {phrase[0] for phrase in clause.phrases}:
            shared[token] = shared.get(token, 0) + 1
    index: dict[str, list[_Check]] = {}
    for check in checks:
        clause = check[2]
        assert clause is not None
        token = min(sorted({phrase[0] for phrase in clause.phrases}), key=lambda t: (shared[t], -len(t)))
        index.setdefault(token, []).append(check)
    return {token: tuple(found) for token, found in index.items()}


class Dispatch:
    """Decides which rules an event concerns (see the module's docstring)."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self._cache: dict[tuple[Any, Any, int], Plan] = {}
        self._templates: dict[tuple[str | None, str | None, int], Template] = {}
        self._slot_hits: dict[tuple[int, Group], tuple[Hit, Hit]] = {}  # not matched, matched
        self._next_key = itertools.count()  # never reused: a key names one (rule, group) for good
        # The clauses by the service they require (None: any), each with its rule and role, in rule order.
        self._by_service: dict[str | None, list[tuple[int, int, Clause]]] = {}
        services: set[str] = set()
        hosts: set[str] = set()
        levels: set[int] = set()
        for rule in rules:
            for role, matcher in ((MATCH, rule.matcher), (TOTAL, rule.total)):
                if matcher is None:
                    continue
                for clause in matcher.clauses:
                    self._by_service.setdefault(clause.service, []).append((rule.index, role, clause))
                    if clause.service is not None:
                        services.add(clause.service)
                    if clause.host is not None:
                        hosts.add(clause.host)
                    if clause.min_severity is not None:
                        levels.add(clause.min_severity)
        # What the clauses can tell apart of an event's fields: the services and hosts they name, and where its
        # severity falls among their levels.
        self._services = frozenset(services)
        self._hosts = frozenset(hosts)
        self._levels = tuple(sorted(levels))
        self._constant = [all(name in _RESOURCE_FIELDS for name in rule.group_by) for rule in rules]

    def hit(self, index: int, group: Group, matched: bool) -> Hit:
        """The hit of rule `index` for `group`, interned: made once, so that the garbage collector, having untracked it,
        finds the items that refer to it untracked too."""
        hits = self._slot_hits.get((index, group))
        if hits is None:
            if len(self._slot_hits) >= SLOT_LIMIT:
                # Items made before keep their keys; a group named by an old and a new key in one batch is counted
                # hit by hit (count_batch).
                self._slot_hits = {}
            key = next(self._next_key)
            hits = self._slot_hits[(index, group)] = ((key, False, index, group), (key, True, index, group))
        return hits[1] if matched else hits[0]

    def _plan(self, service: Any, host: Any, severity: Any) -> Plan:
        template: Template | None = None
        key: tuple[str | None, str | None, int] | None = None
        if (service is None or type(service) is str) and (host is None or type(host) is str) and type(severity) is int:
            rank = 0
            for level in self._levels:
                if severity >= level:
                    rank += 1
            key = (service if service in self._services else None, host if host in self._hosts else None, rank)
            template = self._templates.get(key)
        if template is None:
            template = self._template(service, host, severity)
            if key is not None:
                if len(self._templates) >= CACHE_LIMIT:
                    self._templates.clear()
                self._templates[key] = template
        fixed: list[Hit] = []
        dynamic: list[tuple[int, bool]] = []
        for index, is_match in template.decided.items():
            if self._constant[index]:
                fixed.append(self.hit(index, group_of(self.rules[index].group_by, {}, service, host), is_match))
            else:
                dynamic.append((index, is_match))
        return Plan(template, tuple(fixed), tuple(dynamic))

    def _template(self, service: Any, host: Any, severity: Any) -> Template:
        candidates = list(self._by_service.get(None, ()))
        if type(service) is str:
            candidates.extend(self._by_service.get(service, ()))
            candidates.sort(key=lambda c: (c[0], c[1]))  # stable: clause order kept within a rule and role
        passing: dict[tuple[int, int], list[Clause]] = {}
        for index, role, clause in candidates:
            if clause.fields_pass(severity, service, host):
                passing.setdefault((index, role), []).append(clause)
        matched: set[int] = set()
        counted: set[int] = set()
        needles: dict[str, list[_Check]] = {}
        attributes: dict[str, dict[str, list[_Check]]] = {}
        others: list[_Check] = []
        for (index, role), clauses in passing.items():
            if any(c.fields_only for c in clauses):
                (matched if role == MATCH else counted).add(index)
                continue
            for clause in clauses:
                if clause.needles:
                    needles.setdefault(max(clause.needles, key=len), []).append((index, role, clause))
                elif clause.attributes:
                    key, value = clause.attributes[0]
                    alone = len(clause.attributes) == 1 and clause.trace_id is None
                    attributes.setdefault(key, {}).setdefault(value, []).append(
                        (index, role, None if alone else clause))
                else:
                    others.append((index, role, clause))
        decided = {index: index in matched for index in sorted(matched | counted)}
        by_attribute = []
        for key, by_value in attributes.items():
            texts = {value: tuple(checks) for value, checks in by_value.items()}
            # An integer attribute equals the value that is its text (`str(n)`): looked up by the integer itself,
            # unless the key is dotted and its head is an attribute too (then nested paths may add texts).
            ints = {int(value): checks for value, checks in texts.items() if _int_text(value)}
            by_attribute.append((key, key.split(".", 1)[0] if "." in key else "", texts, ints))
        return Template(decided, tuple((k, tuple(v), _by_token(v)) for k, v in needles.items()), tuple(by_attribute),
                        tuple(others))

    def prepare(self, event: dict[str, Any], raw: bytes = b"") -> Item | None:
        resource = event.get("resource")
        if type(resource) is dict:
            fields = cast(dict[str, Any], resource)
            service, host = fields.get("service.name"), fields.get("host.name")
        else:
            service = host = None
        severity = event.get("severity_number") or 0
        key = (service, host, severity)
        try:
            plan = self._cache.get(key)
        except TypeError:  # a field that is not text (a list...): planned for this event alone
            plan = self._plan(service, host, severity)
        if plan is None:
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            plan = self._cache[key] = self._plan(service, host, severity)
        if plan.simple:
            hits = plan.fixed
            if not hits:
                return None
            return event_time(event["timestamp"]), hits, sample_of(_body(event)) if plan.fixed_match else None
        parts: list[tuple[_Check, ...]] = []
        text: str | None = None
        found_tokens: list[str] | None = None
        present: frozenset[str] | None = None  # the tokens of an ASCII body, once some clause needed them
        if plan.by_needle:
            text = _body(event)
            if text.isascii():
                lower = text.lower()
                for needle, found, by_token in plan.by_needle:
                    if needle in lower:
                        if by_token is None:
                            parts.append(found)
                            continue
                        if present is None:
                            found_tokens = tokens(text)
                            present = frozenset(found_tokens)
                        for token in present:
                            some = by_token.get(token)
                            if some is not None:
                                parts.append(some)
            else:
                parts.extend(found for _, found, _ in plan.by_needle)
        if plan.by_attribute:
            found_attributes = event.get("attributes")
            if type(found_attributes) is dict:
                attributes = cast(dict[str, Any], found_attributes)
                for name, head, by_text, by_int in plan.by_attribute:
                    value = attributes.get(name)
                    if type(value) is int and (not head or head not in attributes):
                        by_value = by_int.get(value)
                        if by_value is not None:
                            parts.append(by_value)
                        continue
                    if type(value) is str and not head:
                        by_value = by_text.get(value)
                        if by_value is not None:
                            parts.append(by_value)
                        continue
                    for value_text in _attribute_texts(attributes, name):
                        by_value = by_text.get(value_text)
                        if by_value is not None:
                            parts.append(by_value)
        if plan.others:
            parts.append(plan.others)
        if plan.dynamic or len(parts) > 1:
            return self._general(plan, event, (service, host), [c for part in parts for c in part], text=text,
                                 found_tokens=found_tokens, present=present)
        if parts:
            part = parts[0]
            hits_made = plan.combined.get(id(part))
            if hits_made is None:
                if any(clause is not None or not self._constant[index] for index, _, clause in part):
                    return self._general(plan, event, (service, host), list(part), text=text,
                                         found_tokens=found_tokens, present=present)
                hits_made = plan.combined[id(part)] = self._hits(plan, event, (service, host), list(part), None)
            hits = hits_made
        else:
            hits = plan.fixed
        if not hits:
            return None
        if plan.fixed_match or (parts and any(hit[1] for hit in hits)):
            return event_time(event["timestamp"]), hits, sample_of(text if text is not None else _body(event))
        return event_time(event["timestamp"]), hits, None

    def _general(self, plan: Plan, event: dict[str, Any], resource: tuple[Any, Any], checks: list[_Check], *,
                 text: str | None, found_tokens: list[str] | None, present: frozenset[str] | None) -> Item | None:
        hits = self._hits(plan, event, resource, checks, found_tokens, present=present)
        if not hits:
            return None
        sample = None
        if any(hit[1] for hit in hits):
            sample = sample_of(text if text is not None else _body(event))
        return event_time(event["timestamp"]), hits, sample

    def _hits(self, plan: Plan, event: dict[str, Any], resource: tuple[Any, Any], checks: list[_Check],
              found_tokens: list[str] | None, *, present: frozenset[str] | None = None) -> tuple[Hit, ...]:
        service, host = resource
        """The hits of `plan`'s decided rules and of the `checks` that pass, in rule order."""
        decided = plan.decided
        found: dict[int, bool] = {}  # rule index -> matched, for the rules the checks add
        body: Body | None = None
        for index, role, clause in checks:
            if role == MATCH:
                if found.get(index) or decided.get(index):
                    continue
            elif index in found or index in decided:
                continue
            if clause is not None:
                decided_by_tokens = None if present is None else _by_tokens(clause, present)
                if decided_by_tokens is not None:
                    if not decided_by_tokens:
                        continue
                else:
                    if body is None:
                        body = Body(event, found_tokens)
                    if not clause.rest_passes(event, body):
                        continue
            found[index] = role == MATCH
        if not found and not plan.dynamic:
            return plan.fixed
        key: tuple[tuple[int, bool], ...] | None = None
        if not plan.dynamic and all(self._constant[index] for index in found):
            key = tuple(sorted(found.items()))
            made = plan.made.get(key)
            if made is not None:
                return made
        rules = self.rules
        merged = dict(decided)
        for index, is_match in found.items():
            merged[index] = is_match or merged.get(index, False)
        built: list[Hit] = []
        for index in sorted(merged):
            rule = rules[index]
            built.append(self.hit(index, group_of(rule.group_by, event, service, host) if rule.group_by else (),
                                  merged[index]))
        hits = tuple(built)
        if key is not None and len(plan.made) < MADE_LIMIT:
            plan.made[key] = hits
        return hits


def _by_tokens(clause: Clause, present: frozenset[str]) -> bool | None:
    """Whether `clause` passes an ASCII body whose tokens are `present`, when its words alone decide and each is one
    token (then its needles, those tokens, are in the lower-cased body whenever the tokens are); None: ask Body."""
    if clause.trace_id is not None or clause.attributes:
        return None
    for phrase in clause.phrases:
        if len(phrase) != 1:
            return None
    return all(phrase[0] in present for phrase in clause.phrases)


def _int_text(value: str) -> bool:
    """Whether `value` is the text some integer has (`str(n)`)."""
    try:
        return str(int(value)) == value
    except ValueError:
        return False


# -- counting a batch --------------------------------------------------------------------------------------------


SAMPLES = 5


class Slot:
    """One rule and one group of it: a batch's counts while `count_batch` runs. Its containers are made when needed,
    and the counts of the runs ended are ints by bucket (dicts of atoms, which the garbage collector does not track):
    a batch's slots leave little for it to walk."""

    __slots__ = ("bucket", "ended_matched", "ended_total", "first_pos", "first_stamp", "group", "index",
                 "interval_samples", "is_match", "last", "last_matched", "last_pos", "low", "run_matched", "run_total",
                 "samples", "step")

    def __init__(self, index: int, group: Group, step: int, is_match: bool, *, stamp: int, position: int) -> None:
        self.index = index
        self.group = group
        self.step = step
        self.is_match = is_match
        # bucket -> hits (matched ones, all) of the runs that ended (at a change of bucket), when some did
        self.ended_matched: dict[int, int] | None = None
        self.ended_total: dict[int, int] | None = None
        self.first_pos = self.last_pos = position
        self.first_stamp = stamp
        self.last = self.last_matched = NEVER
        self.low = self.bucket = stamp // step
        self.run_matched = self.run_total = 0  # hits in `bucket` since the last change of bucket
        self.samples: list[str] | None = None
        self.interval_samples: dict[int, list[str]] | None = None


def _end_run(slot: Slot) -> None:
    """Add the slot's run of hits in its current bucket to the runs ended."""
    matched, total = slot.ended_matched, slot.ended_total
    if matched is None or total is None:
        matched = slot.ended_matched = {}
        total = slot.ended_total = {}
    bucket = slot.bucket
    matched[bucket] = matched.get(bucket, 0) + slot.run_matched
    total[bucket] = total.get(bucket, 0) + slot.run_total
    slot.run_matched = slot.run_total = 0


def _add_counts(buckets: dict[int, list[int]], bucket: int, matched: int, total: int) -> None:
    have = buckets.get(bucket)
    if have is None:
        buckets[bucket] = [matched, total]
    else:
        have[0] += matched
        have[1] += total


def count_batch(engine: Any, items: list[Item], new_state: Any) -> list[tuple[int, Group, int]] | None:
    """Count `items` into `engine`'s group states; the (rule index, group, lowest bucket) touched, in the order the
    groups were first hit. None (nothing changed) when the batch must be counted hit by hit instead: a rule would
    exceed its max_groups within the batch (groups are then forgotten in between), or two slots name one group."""
    slots: dict[int, Slot] = {}  # by the hits' keys
    touched: list[Slot] = []
    rules = engine.rules
    newest = engine.newest_event
    for position, (stamp, hits, sample) in enumerate(items, start=1):
        if stamp > newest:  # noqa: PLR1730 - compiled, a comparison costs less than a call of max()
            newest = stamp
        for key, matched, index, group in hits:
            found = slots.get(key)
            if found is None:
                rule = rules[index]
                slot = slots[key] = Slot(index, group, rule.step, rule.kind is RuleKind.MATCH, stamp=stamp,
                                          position=position)
                touched.append(slot)
            else:
                slot = found
            bucket = stamp // slot.step
            if bucket != slot.bucket:
                _end_run(slot)
                slot.bucket = bucket
                if bucket < slot.low:  # noqa: PLR1730
                    slot.low = bucket
            slot.run_total += 1
            if stamp > slot.last:  # noqa: PLR1730
                slot.last = stamp
            slot.last_pos = position
            if matched:
                slot.run_matched += 1
                if stamp > slot.last_matched:  # noqa: PLR1730
                    slot.last_matched = stamp
                if sample is not None:
                    if slot.is_match:
                        by_interval = slot.interval_samples
                        if by_interval is None:
                            by_interval = slot.interval_samples = {}
                        kept = by_interval.get(bucket)
                        if kept is None:
                            kept = by_interval[bucket] = []
                        if len(kept) < SAMPLES:
                            kept.append(sample)
                    else:
                        samples = slot.samples
                        if samples is None:
                            samples = slot.samples = []
                        samples.append(sample)
                        if len(samples) > 4 * SAMPLES:
                            del samples[:-SAMPLES]
    # Whether counting by slot is exact for this batch.
    states = engine.states
    seen: set[tuple[int, Group]] = set()
    new_groups: dict[int, int] = {}
    existing: list[Any] = []
    for slot in touched:
        named = (slot.index, slot.group)
        if named in seen:
            return None
        seen.add(named)
        state = states[slot.index].groups.get(slot.group)
        existing.append(state)
        if state is None:
            new_groups[slot.index] = new_groups.get(slot.index, 0) + 1
    for index, added in new_groups.items():
        if len(states[index].groups) + added > rules[index].max_groups:
            return None
    engine.newest_event = newest
    result: list[tuple[int, Group, int]] = []
    for slot, known in zip(touched, existing, strict=True):
        state = known
        if state is None:
            state = states[slot.index].groups[slot.group] = new_state(first_seen=slot.first_stamp)
        buckets = state.buckets
        ended_matched, ended_total = slot.ended_matched, slot.ended_total
        if ended_matched is not None and ended_total is not None:
            for bucket, total in ended_total.items():
                _add_counts(buckets, bucket, ended_matched[bucket], total)
        _add_counts(buckets, slot.bucket, slot.run_matched, slot.run_total)  # the run still open
        state.last_seen = max(state.last_seen, slot.last)
        state.last_matched = max(state.last_matched, slot.last_matched)
        if slot.interval_samples is not None:
            for bucket, kept in slot.interval_samples.items():
                have_samples = state.interval_samples.setdefault(bucket, [])
                have_samples.extend(kept[:max(0, SAMPLES - len(have_samples))])
        elif slot.samples is not None:
            samples = state.samples
            samples.extend(slot.samples)
            if len(samples) > SAMPLES:
                del samples[:-SAMPLES]
        state.dirty = True
        result.append((slot.index, slot.group, slot.low))
    # Least recently seen first, as hit by hit: the touched groups move to the end in the order of their last hit.
    for slot in sorted(touched, key=lambda s: s.last_pos):
        states[slot.index].groups.move_to_end(slot.group)
    return result


def fresh_items(items: list[Item | None], sources: list[tuple[str, int, int]],
                evaluated: dict[str, dict[tuple[str, int], int]], names: list[str],
                floors: dict[tuple[str, int], int]) -> tuple[list[Item], int]:
    """The prepared items of a batch without the hits of rules that already counted their event (after a replay:
    `evaluated`, per rule name and partition, the offset below which the rule counted everything; `floors`, per
    partition, the highest of them), and how many hits were left out."""
    fresh: list[Item] = []
    skipped = 0
    last: tuple[str, int] | None = None
    floor = 0
    for item, (topic, partition, offset) in zip(items, sources, strict=True):
        if item is None:
            continue
        if last is None or last[0] != topic or last[1] != partition:
            last = (topic, partition)
            floor = floors.get(last, 0)
        if offset >= floor:
            fresh.append(item)
            continue
        kept = tuple(hit for hit in item[1] if offset >= evaluated.get(names[hit[2]], {}).get(last, 0))
        skipped += len(item[1]) - len(kept)
        if kept:
            fresh.append((item[0], kept, item[2]))
    return fresh, skipped
