"""The evaluator's fast path (consumer.alerting.fastpath) against the straightforward evaluation, over random rules and
events: every rule's query asked about every event (Matcher.matches) must give the hits `Dispatch.prepare` gives, and
the batch counted slot by slot (`count_batch`) must leave the engine exactly where counting hit by hit
(`Engine.count_each`) leaves it: the same alerts, the same windows, the same groups in the same order."""

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumer.alerting.compiled import NS, Rule, compile_rule, group_of
from consumer.alerting.config import parse_evaluator_config
from consumer.alerting.engine import Engine
from consumer.alerting.fastpath import Dispatch, Item, sample_of
from consumer.alerting.matcher import body_text, compile_query
from consumer.alerting.model import Alert
from consumer.query import QuerySyntaxError
from schemas import new_event, stream_id
from schemas.timefmt import parse_rfc3339_ns

BASE = 1_780_000_000 * NS
TRACE = "0af7651916cd43dd8448eb211c80319c"
SERVICES = ("billing", "api", "")
HOSTS = ("web-1", "web-2")
WORDS = ("disk", "full", "Disk-Full", "exited", "code", "3", "écriture", "refusée", "payment", "failed", "ok", TRACE)
TERMS = ("disk", "full", "disk-full", "exited code", "code 3", "ecriture", "payment failed", "level:error",
         "level:warn", "service:billing", "service:api", "host:web-1", "exit_code:3", "exit_code:03", "job.id:a",
         "http.status:500", "tag:x", "flag:true", TRACE, "")
GROUPS: tuple[list[str], ...] = ([], ["service"], ["host"], ["exit_code"], ["job.id"], ["service", "tag"])
LEVELS = (("DEBUG", 5), ("INFO", 9), ("WARN", 13), ("ERROR", 17), ("FATAL", 21))


def _query(draw: st.DrawFn) -> str:
    text = " ".join(draw(st.lists(st.sampled_from(TERMS), max_size=3))).strip()
    try:
        compile_query(text)
    except QuerySyntaxError:  # e.g. two services: not a query a rule can have
        return text.split()[0] if text else ""
    return text


@st.composite
def rule_tables(draw: st.DrawFn) -> list[dict[str, Any]]:
    tables = []
    for i in range(draw(st.integers(1, 7))):
        kind = draw(st.sampled_from(("threshold", "ratio", "match", "absence")))
        table: dict[str, Any] = {"name": f"r{i}", "type": kind, "match": _query(draw),
                                 "group_by": draw(st.sampled_from(GROUPS)),
                                 "max_groups": draw(st.sampled_from((2, 10_000)))}
        if kind == "threshold":
            table.update(window=draw(st.sampled_from(("3s", "10s"))), threshold=draw(st.integers(1, 4)),
                         step="1s", **{"for": draw(st.sampled_from(("0s", "2s")))})
        elif kind == "ratio":
            table.update(window="10s", step="1s", ratio=draw(st.sampled_from((0.1, 0.5, 1.0))), min_count=2,
                         total=_query(draw))
        elif kind == "match":
            table.update(interval=draw(st.sampled_from(("1s", "5s"))))
        else:
            table.update(window="5s")
        tables.append(table)
    return tables


@st.composite
def event_lists(draw: st.DrawFn) -> list[dict[str, Any]]:
    found = []
    for i in range(draw(st.integers(1, 60))):
        words = draw(st.lists(st.sampled_from(WORDS), max_size=5))
        body: Any = " ".join(words)
        if draw(st.booleans()):
            body = body.upper() if draw(st.booleans()) else body + "\nsecond line " + " ".join(reversed(words))
        if draw(st.integers(0, 9)) == 0:
            body = {"msg": body, "n": 3}
        attributes: dict[str, Any] = {}
        for key, values in (("exit_code", (3, "3", 4, True, [3, 5], "03")), ("job.id", ("a", "b")),
                            ("job", ({"id": "a"}, {"id": "b"})), ("http.status", (500, 503, "500")),
                            ("tag", ("x", "y")), ("flag", (True, "true"))):
            if draw(st.booleans()):
                attributes[key] = draw(st.sampled_from(values))
        service = draw(st.sampled_from(SERVICES))
        host = draw(st.sampled_from(HOSTS))
        resource = {"host.name": host} if not service else {"service.name": service, "host.name": host}
        level = draw(st.sampled_from(LEVELS))
        stamp = BASE + draw(st.integers(0, 30 * NS // 10_000_000)) * 10_000_000
        event = new_event(stream=stream_id(host, "f"), offset=i, timestamp_ns=stamp, observed_ns=stamp, body="",
                          resource=resource, input_id="app", log_format="plain", severity_text=level[0],
                          severity_number=level[1], attributes=attributes)
        event["body"] = body
        if draw(st.integers(0, 4)) == 0:
            event["trace_id"] = TRACE
        found.append(event)
    return found


def _rules(tables: list[dict[str, Any]]) -> list[Rule]:
    config = parse_evaluator_config({"alert": {"allowed_lateness": "2s"}, "rules": tables})
    return [compile_rule(i, r, config.alert.allowed_lateness) for i, r in enumerate(config.rules)]


def _reference_item(rules: list[Rule], event: dict[str, Any]) -> tuple[int, list[tuple[int, Any, bool]], str | None]:
    """Each rule's queries asked about the event, one by one."""
    resource = event.get("resource") or {}
    service, host = resource.get("service.name"), resource.get("host.name")
    hits = []
    for rule in rules:
        matched = rule.matcher.matches(event)
        counted = rule.total is not None and rule.total.matches(event)
        if matched or counted:
            hits.append((rule.index, group_of(rule.group_by, event, service, host), matched))
    sample = sample_of(body_text(event)) if any(matched for _, _, matched in hits) else None
    return parse_rfc3339_ns(event["timestamp"]), hits, sample


class ReferenceEngine(Engine):
    """The engine counting every batch hit by hit."""

    def count(self, items: list[Item]) -> list[tuple[int, Any, int]]:
        return self.count_each(items)


def _snapshot(engine: Engine) -> list[Any]:
    return [[(group, state.to_json()) for group, state in rule_state.groups.items()] + [sorted(rule_state.open)]
            for rule_state in engine.states]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables=rule_tables(), events=event_lists(), cuts=st.lists(st.integers(1, 20), max_size=4))
def test_the_fast_path_decides_and_counts_what_the_reference_does(
        tables: list[dict[str, Any]], events: list[dict[str, Any]], cuts: list[int]) -> None:
    rules = _rules(tables)
    dispatch = Dispatch(rules)
    fast_items: list[Item] = []
    reference_items: list[Item] = []
    for event in events:
        item = dispatch.prepare(event)
        stamp, expected, sample = _reference_item(rules, event)
        got = [] if item is None else [(index, group, matched) for _, matched, index, group in item[1]]
        assert got == expected, event
        if item is not None:
            assert (item[0], item[2]) == (stamp, sample)
            fast_items.append(item)
            reference_items.append((stamp, tuple((-1, m, i, g) for i, g, m in expected), sample))
    fast, reference = Engine(rules), ReferenceEngine(rules)
    changes: tuple[list[Alert], list[Alert]] = ([], [])
    start, wall = 0, BASE + 5 * NS
    for size in [*cuts, len(fast_items)]:
        for engine, items, out in ((fast, fast_items, changes[0]), (reference, reference_items, changes[1])):
            out.extend(engine.ingest(items[start:start + size], wall, catching_up=size >= 10))
            out.extend(engine.evaluate(wall, catching_up=False))
        assert changes[0] == changes[1]
        assert _snapshot(fast) == _snapshot(reference)
        assert fast.newest_event == reference.newest_event
        start += size
        wall += 7 * NS
