"""Scraping a program's /metrics as Prometheus does, and the naming rules its metrics must follow."""

import re
import time
import urllib.request

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

SNAKE_CASE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
UNITS = ("seconds", "bytes", "ratio", "lines", "events", "records", "files", "items", "errors", "failures",
         "notifications")
"""What a logferry metric's name ends with (before `_total` or `_info`): a base unit, or the thing counted."""
PATH_LIKE = re.compile(r"[/\\]")
BOUNDED_LABELS = {"input", "format", "topic", "partition", "program", "version", "le", "quantile", "reason", "rule",
                  "receiver"}
"""The label names logferry's own metrics may carry: each takes a handful of values, never one per file."""


def scrape(address: str, *, deadline: float = 30.0) -> list[Metric]:
    """The metric families served at http://`address`/metrics. Transient failures (nothing listening yet, a reset)
    are retried until `deadline` seconds have passed; then the last one is raised."""
    give_up = time.monotonic() + deadline
    while True:
        try:
            with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as response:
                return list(text_string_to_metric_families(response.read().decode()))
        except OSError:
            if time.monotonic() >= give_up:
                raise
        time.sleep(0.2)


def value(families: list[Metric], name: str, **labels: str) -> float | None:
    """The value of the sample `name` whose labels include `labels`, None when there is none."""
    for family in families:
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


def total(families: list[Metric], name: str) -> float:
    """The sum of every sample named `name` (a gauge over all its labels); 0 when none."""
    return sum(float(s.value) for f in families for s in f.samples if s.name == name)


def naming_problems(families: list[Metric]) -> list[str]:
    """What breaks Prometheus' naming conventions or bounds labels badly, one sentence each (empty when all is well).

    Every sample name is snake case; `_total` ends counters' samples and nothing else; logferry's own metrics are
    `logferry_<program>_...` ending in a unit (UNITS), or `logferry_build_info`; their labels are BOUNDED_LABELS;
    no label value anywhere is a path."""
    found = []
    for family in families:
        for sample in family.samples:
            name = sample.name
            if not SNAKE_CASE.fullmatch(name):
                found.append(f"{name} is not snake case")
            if name.endswith("_total") != (family.type == "counter"):
                found.append(f"{name} ({family.type}): _total belongs to counters, and every counter has it")
            for label, text in sample.labels.items():
                if PATH_LIKE.search(text):
                    found.append(f"{name}: label {label}={text!r} is a path")
        if family.name.startswith("logferry_"):
            found += _own_problems(family)
    return found


def _own_problems(family: Metric) -> list[str]:
    found = []
    name = family.name
    if name == "logferry_build_info":
        return [] if [s.value for s in family.samples] == [1.0] else [f"{name}: an info metric is one sample of value 1"]
    if not re.fullmatch(r"logferry_(shipper|consumer|evaluator)_[a-z0-9_]+", name):
        found.append(f"{name} is not logferry_<program>_<what>")
    if not name.endswith(tuple("_" + unit for unit in UNITS)):
        found.append(f"{name} does not end with a unit ({', '.join(UNITS)})")
    if family.type == "histogram" and not name.endswith(("_seconds", "_bytes")):
        found.append(f"{name}: a histogram measures seconds or bytes")
    for sample in family.samples:
        for label in sample.labels:
            if label not in BOUNDED_LABELS:
                found.append(f"{sample.name}: label {label!r} is not one of the bounded labels")
    return found


# The alert evaluator's own metrics count alerts, by state (consumer/alerting/metrics.py).
UNITS = (*UNITS, "alerts")
BOUNDED_LABELS = BOUNDED_LABELS | {"state"}
