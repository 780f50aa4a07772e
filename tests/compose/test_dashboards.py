"""compose/grafana/: the dashboards and their provisioning, and the one promise that matters most: every metric a
dashboard or an alerting rule refers to is one the programs serve, with the labels they give it. What they serve is
scraped from a real shipper and a real consumer worker (a real broker between them)."""

import uuid
from collections.abc import Iterator

import pytest
import yaml
from prometheus_client.metrics_core import Metric

from shipper.config import parse_config
from tests.compose.dashboards import DASHBOARDS, GRAFANA, dashboard, dashboard_expressions, panels, rule_expressions, rules
from tests.consumer.helpers import sqlite_config, start_consumer, stop_started, wait_for
from tests.shipper.support import FAST, RunningShipper, wait_for_count, write_lines
from tests.support.kafka import new_topic
from tests.support.metrics import scrape, value
from tests.support.promql import grafana_free, references
from tests.support.proxy import free_port

PROMETHEUS_OWN = {"up": {"job", "instance"}}
"""Series Prometheus makes itself for each target, not served by the programs."""
TARGET_LABELS = {"job", "instance"}
"""Labels Prometheus adds to every scraped series."""

SHIPPER_ASKED = {  # issue 16: lines/bytes read, bytes behind, in-flight, delivery errors
    "logferry_shipper_read_lines_total", "logferry_shipper_read_bytes_total", "logferry_shipper_behind_bytes",
    "logferry_shipper_inflight_records", "logferry_shipper_inflight_bytes", "logferry_shipper_delivery_errors_total",
}
CONSUMER_ASKED = {  # events/s, lag, flush latency, dead letters
    "logferry_consumer_indexed_events_total", "logferry_consumer_lag_records", "logferry_consumer_batch_seconds_bucket",
    "logferry_consumer_dead_letter_records_total",
}


def served_series(families: list[Metric]) -> dict[str, set[str]]:
    """Each series name a scrape of `families` gives, with its label names (a family without samples yet still
    names its series: `_total` for a counter, `_bucket`/`_sum`/`_count` for a histogram, `_info` for an info)."""
    series: dict[str, set[str]] = {}
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "info": ["_info"],
                "summary": ["", "_sum", "_count"]}
    for family in families:
        for suffix in suffixes.get(family.type, [""]):
            series.setdefault(family.name + suffix, set())
        for sample in family.samples:
            series.setdefault(sample.name, set()).update(sample.labels)
    return series


@pytest.fixture(scope="module")
def served(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, set[str]]]:
    """What a running shipper (with processing, so its labelled counters have samples) and a running consumer worker
    serve, merged: series name -> label names."""
    tmp_path = tmp_path_factory.mktemp("served")
    topic = new_topic(kafka_bootstrap)
    (tmp_path / "logs").mkdir()
    write_lines(tmp_path / "logs" / "app.log", ["keep mail a@example.com", "skip me", "keep DEBUG drop me", "keep this"])
    shipper_address, consumer_address = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    config = parse_config({
        "shipper": {"state_dir": str(tmp_path / "state"), "host_id": "test-host", **FAST, "metrics_address": shipper_address},
        "kafka": {"bootstrap_servers": kafka_bootstrap, "topic": topic, "linger_ms": 5},
        "inputs": [{"id": "app", "paths": [str(tmp_path / "logs" / "*.log")], "format": "plain", "include_lines": ["keep"],
                    "drop": [{"name": "debug", "field": "body", "matches": "DEBUG"}], "redact": [{"builtin": "email"}]}],
    })
    try:
        with RunningShipper(config):
            wait_for_count(kafka_bootstrap, topic, 2)
            wait_for(lambda: value(scrape(shipper_address), "logferry_shipper_redacted_events_total", rule="email") == 1,
                     30, "the redaction to be counted")
            shipped = scrape(shipper_address)
            db = tmp_path / "index" / "events.db"
            db.parent.mkdir()
            consumer_config = sqlite_config(db, kafka_bootstrap, topic, f"dashboards-{uuid.uuid4().hex[:8]}",
                                            extra=f'metrics_address = "{consumer_address}"')
            start_consumer("run", "--config", str(consumer_config), log=tmp_path / "consumer.log")
            wait_for(lambda: value(scrape(consumer_address), "logferry_consumer_indexed_events_total") == 2, 60,
                     "the events indexed")
            wait_for(lambda: value(scrape(consumer_address), "logferry_consumer_lag_records") is not None, 60,
                     "the lag gauge")
            consumed = scrape(consumer_address)
        series = served_series(shipped)
        for name, labels in served_series(consumed).items():
            series.setdefault(name, set()).update(labels)
        yield series
    finally:
        stop_started()


def expressions() -> list[tuple[str, str]]:
    found = [(where, expr) for path in DASHBOARDS for where, expr in dashboard_expressions(path)]
    return found + rule_expressions()


def unknown_references(expr: str, served: dict[str, set[str]]) -> list[str]:
    """What `expr` refers to that the programs do not serve: metric names, labels matched on, labels grouped by."""
    found = references(grafana_free(expr))
    known = {**served, **PROMETHEUS_OWN}
    problems = [f"metric {name} is not served" for name in sorted(found.metrics) if name not in known]
    for name, labels in sorted(found.matched.items()):
        if name in known:
            problems += [f"{name} has no label {label!r}" for label in sorted(labels - known[name] - TARGET_LABELS)]
    available = TARGET_LABELS.union(*(known.get(name, set()) for name in found.metrics))
    problems += [f"grouping by {label!r}, which none of its metrics has" for label in sorted(found.grouped - available)]
    return problems


@pytest.mark.kafka
def test_every_metric_a_dashboard_or_a_rule_refers_to_is_served(served: dict[str, set[str]]) -> None:
    assert "logferry_shipper_dropped_events_total" in served and "logferry_consumer_batch_seconds_bucket" in served
    problems = [f"{where}: {problem}" for where, expr in expressions() for problem in unknown_references(expr, served)]
    assert problems == []


@pytest.mark.kafka
def test_a_misspelt_metric_or_label_is_caught(served: dict[str, set[str]]) -> None:
    """The check above can fail: the names operators complained about (README's renamed table) are refused."""
    assert unknown_references("rate(logferry_shipper_bytes_read_total[5m])", served) == [
        "metric logferry_shipper_bytes_read_total is not served"]
    assert unknown_references('sum by (path) (logferry_shipper_behind_bytes{input="app"})', served) == [
        "grouping by 'path', which none of its metrics has"]
    assert unknown_references('logferry_consumer_lag_records{group="g"}', served) == [
        "logferry_consumer_lag_records has no label 'group'"]
    assert unknown_references('sum by (instance, topic) (logferry_consumer_lag_records{instance=~"$instance"})', served) == []


def test_the_dashboards_show_what_operators_asked_for() -> None:
    boards = {path.stem: {name for _, expr in dashboard_expressions(path) for name in references(grafana_free(expr)).metrics}
              for path in DASHBOARDS}
    assert set(boards) == {"logferry-shipper", "logferry-consumer"}
    assert boards["logferry-shipper"] >= SHIPPER_ASKED, SHIPPER_ASKED - boards["logferry-shipper"]
    assert boards["logferry-consumer"] >= CONSUMER_ASKED, CONSUMER_ASKED - boards["logferry-consumer"]
    shipper_metrics = {n for n in boards["logferry-shipper"] if n.startswith("logferry_")}
    consumer_metrics = {n for n in boards["logferry-consumer"] if n.startswith("logferry_")}
    assert all(n.startswith(("logferry_shipper_", "logferry_build_")) for n in shipper_metrics)
    assert all(n.startswith(("logferry_consumer_", "logferry_build_")) for n in consumer_metrics)


def test_the_dashboards_are_well_formed_for_provisioning() -> None:
    uids = set()
    for path in DASHBOARDS:
        board = dashboard(path)
        uids.add(board["uid"])
        assert board["uid"] == path.stem and board["title"] and board["schemaVersion"] >= 36
        variables = {v["name"]: v for v in board["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
        assert variables["instance"]["includeAll"] is True
        ids = [panel["id"] for panel in panels(board)]
        assert len(ids) == len(set(ids)), f"{path.name}: panel ids repeat"
        for panel in panels(board):
            grid = panel["gridPos"]
            assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24 and grid["h"] > 0, panel["title"]
            if panel["type"] == "row":
                continue
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
            assert panel["targets"] and panel["description"], panel["title"]
            assert len({t["refId"] for t in panel["targets"]}) == len(panel["targets"]), panel["title"]
            for target in panel["targets"]:
                assert target["datasource"] == panel["datasource"]
                assert 'instance=~"$instance"' in target["expr"], f"{panel['title']}: not filtered by the instance variable"
    assert len(uids) == len(DASHBOARDS)


def test_the_provisioning_files_name_a_prometheus_and_the_dashboards_folder() -> None:
    sources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    assert sources["apiVersion"] == 1
    [source] = sources["datasources"]
    assert source["type"] == "prometheus" and source["access"] == "proxy" and source["url"].startswith("http")
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "logferry.yml").read_text())
    [provider] = providers["providers"]
    assert provider["type"] == "file" and provider["options"]["path"] == "/var/lib/grafana/dashboards/logferry"
    readme = (GRAFANA / "README.md").read_text()
    assert f"dashboards:{provider['options']['path']}" in readme, "the README mounts the dashboards where the provider looks"
    assert "provisioning:/etc/grafana/provisioning" in readme


def test_the_readme_lists_every_alert() -> None:
    readme = (GRAFANA / "README.md").read_text()
    missing = [rule["alert"] for rule in rules() if "alert" in rule and f"`{rule['alert']}`" not in readme]
    assert missing == []

