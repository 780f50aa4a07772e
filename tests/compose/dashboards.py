"""The Grafana dashboards and Prometheus rules of compose/, read as the tests need them: every PromQL expression
with where it comes from."""

import json
import re
from pathlib import Path
from typing import Any

import yaml

from tests.support.kafka import ROOT

GRAFANA = ROOT / "compose" / "grafana"
PROMETHEUS = ROOT / "compose" / "prometheus"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
LABEL_VALUES = re.compile(r"^\s*label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$", re.S)


def dashboard(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, rows' nested ones included."""
    found = []
    for panel in board["panels"]:
        found.append(panel)
        found += panel.get("panels", [])
    return found


def dashboard_expressions(path: Path) -> list[tuple[str, str]]:
    """(where, PromQL) for every query of the dashboard at `path`: panel targets and query variables (a Grafana
    `label_values(selector, label)` gives its selector)."""
    board = dashboard(path)
    found = []
    for panel in panels(board):
        for target in panel.get("targets", []):
            found.append((f"{path.name}: panel {panel['title']!r} {target['refId']}", target["expr"]))
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
            match = LABEL_VALUES.match(query)
            found.append((f"{path.name}: variable {variable['name']}", match.group(1) if match else query))
    return found


def rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load((PROMETHEUS / "rules.yml").read_text())["groups"] for rule in group["rules"]]


def rule_expressions() -> list[tuple[str, str]]:
    return [(f"rules.yml: {rule.get('alert') or rule.get('record')}", rule["expr"]) for rule in rules()]
