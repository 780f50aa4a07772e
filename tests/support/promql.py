"""What a PromQL expression refers to: the metric names it selects and the label names it matches or groups by.

Enough of PromQL's lexical rules to check dashboards and alerting rules against what the programs serve: string
literals, `{...}` matchers, `[...]` ranges, grouping clauses and function calls are told apart; whatever identifier
is left is a metric name. Grafana's variables (`$instance`, `${datasource}`, `$__rate_interval`) are taken out
first (`grafana_free`). The syntax itself is promtool's to check (tests/compose/test_prometheus.py).
"""

import re
from dataclasses import dataclass, field

KEYWORDS = frozenset({
    "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan",
    "atan2",
})
STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
MATCHERS = re.compile(r"\{([^{}]*)\}")
MATCHER_LABEL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)")
RANGE = re.compile(r"\[[^\]]*\]")
GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)")
IDENTIFIER = re.compile(r"(?<![\w.:])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?")
GRAFANA_VARIABLE = re.compile(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class References:
    """The metric names an expression selects; the labels each selector matches on; the labels it groups by."""

    metrics: set[str] = field(default_factory=set)
    matched: dict[str, set[str]] = field(default_factory=dict)  # metric name -> label names in its {...}
    grouped: set[str] = field(default_factory=set)


def grafana_free(expr: str) -> str:
    """`expr` with Grafana's variables replaced by what Prometheus would accept in their place."""
    expr = expr.replace("$__rate_interval", "5m").replace("$__interval", "1m").replace("$__range", "1h")
    return GRAFANA_VARIABLE.sub(".+", expr)


def references(expr: str) -> References:
    """The metrics and labels `expr` refers to (see the module's docstring)."""
    found = References()
    text = STRING.sub('""', expr)
    text = RANGE.sub(" ", text)
    for match in GROUPING.finditer(text):
        found.grouped |= {label.strip() for label in match.group(2).split(",") if label.strip()}
    text = GROUPING.sub(" ", text)
    # A selector: an optional name, then {matchers}; a bare {__name__=...} names no metric we could check.
    selectors: list[tuple[int, set[str]]] = []
    for match in MATCHERS.finditer(text):
        selectors.append((match.start(), set(MATCHER_LABEL.findall(match.group(1)))))
    text = MATCHERS.sub(lambda m: "{" + " " * (len(m.group(0)) - 2) + "}", text)
    for match in IDENTIFIER.finditer(text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in KEYWORDS:
            continue
        found.metrics.add(name)
        labels = next((labels for start, labels in selectors if text[match.end():start].strip() == ""
                       and start >= match.end()), set())
        found.matched.setdefault(name, set()).update(labels)
    return found
