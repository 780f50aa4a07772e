"""`alert test --rule R --since 24h`: one rule evaluated over events already indexed, printing what would have fired
(like ElastAlert's rule tester). Nothing is recorded and nobody is notified.

The events are read from the indexer's index, through its config (`--index-config`, else `[alert] index_config`,
else this file's own `[sink]`, as when the evaluator shares the indexer's config file):
the rule's `match` (and, for a ratio rule, its `total`) as `consumer search` queries from --since on, at most
--limit events each, oldest first. They are evaluated as a backlog would be, all of it behind the clock; absence
rules are evaluated at simulated wall-clock turns from --since to now.
"""

import sys
import time
from typing import Any, TextIO

from consumer.alerting.compiled import NS, RuleKind, compile_rule
from consumer.alerting.config import EvaluatorConfig
from consumer.alerting.engine import Engine
from consumer.alerting.fastpath import Dispatch
from consumer.alerting.model import Alert
from consumer.alerting.store import alert_json
from consumer.config import ConsumerConfig, load_config
from consumer.query import build_search, tokenize
from consumer.sinks.registry import open_reader
from consumer.timeargs import parse_time_ns
from schemas.timefmt import format_ns, parse_rfc3339_ns

MAX_TURNS = 5000


def read_events(index: ConsumerConfig, queries: list[str], since_ns: int, limit: int) -> list[dict[str, Any]]:
    """The events matching any of `queries` from `since_ns` on, oldest first, each once."""
    reader = open_reader(index)
    try:
        found: dict[str, dict[str, Any]] = {}
        for text in queries:
            query = build_search(tokenize(text), since=format_ns(since_ns), limit=limit)
            for event in reader.search(query):
                found[str(event.get("event_id"))] = event
    finally:
        reader.close()
    return sorted(found.values(), key=lambda e: (parse_rfc3339_ns(str(e["timestamp"])), str(e.get("event_id"))))


def evaluate_over(rule_index: int, config: EvaluatorConfig, events: list[dict[str, Any]], since_ns: int,
                  now_ns: int) -> list[Alert]:
    rule = compile_rule(0, config.rules[rule_index], config.alert.allowed_lateness)
    dispatch = Dispatch([rule])
    engine = Engine([rule])
    items = [item for item in (dispatch.prepare(event) for event in events) if item is not None]
    changes: list[Alert] = []
    if rule.kind in (RuleKind.ABSENCE, RuleKind.SCHEDULE):
        step = max(rule.step, (now_ns - since_ns) // MAX_TURNS, NS)
        position = 0
        wall = since_ns + step
        while wall <= now_ns + step:
            upto = position
            while upto < len(items) and items[upto][0] <= wall:
                upto += 1
            if upto > position:
                changes.extend(engine.ingest(items[position:upto], wall, catching_up=False))
                position = upto
            changes.extend(engine.evaluate(wall, catching_up=False))
            wall += step
        return changes
    changes.extend(engine.ingest(items, now_ns, catching_up=False))
    changes.extend(engine.evaluate(now_ns, catching_up=False))
    return changes


def run_test(config: EvaluatorConfig, rule_name: str, *, since: str, index_config: str | None, limit: int,
             as_json: bool, out: TextIO = sys.stdout) -> int:
    rule = config.rule(rule_name)
    source = index_config or config.alert.index_config
    index = load_config(source) if source else config.index_view()
    now_ns = time.time_ns()
    since_ns = parse_time_ns(since, now_ns)
    queries = [rule.match]
    total = getattr(rule, "total", None)
    if total is not None:
        queries.append(total)
    events = read_events(index, queries, since_ns, limit)
    position = [r.name for r in config.rules].index(rule_name)
    changes = evaluate_over(position, config, events, since_ns, now_ns)
    for alert in changes:
        if as_json:
            out.write(alert_json(alert).decode() + "\n")
        else:
            when = alert.resolved_at if alert.resolved_at is not None else alert.fired_at or alert.started_at
            out.write(f"{alert.state.value:<8} {format_ns(when)} {alert.key.group_text or '-'}"
                      f"{' late' if alert.late else ''}: {alert.summary}\n")
    fired = sum(1 for a in changes if a.fired_at is not None and a.resolved_at is None)
    sys.stderr.write(f"{len(events)} event(s) read; {fired} alert(s) would have fired.\n")
    return 0
