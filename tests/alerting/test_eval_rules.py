"""Each rule type against the real broker, evaluated as a backlog (`alert run --once` over events an hour old):
fires, resolves, respects `for` and `resolve_after`, marks the alerts late with the events' own times; and
`alert replay --to-earliest` then records nothing new (while a rule added since does evaluate the replayed events)."""

import time
from pathlib import Path

import pytest

from tests.alerting.helpers import NS, evaluate_once, evaluator_config, events, fired, recorded, run_alert
from tests.consumer.helpers import produce

pytestmark = pytest.mark.kafka

THRESHOLD = """
[[rules]]
name = "billing-errors"
type = "threshold"
match = "level:error payment"
group_by = ["service"]
window = "3s"
step = "1s"
threshold = 5
for = "5s"
resolve_after = "4s"
severity = "critical"
labels = { team = "payments" }
"""


def _hour_ago() -> int:
    return (time.time_ns() - 3600 * NS) // NS * NS  # a whole second: buckets start on it


def test_threshold_respects_for_and_resolve_after_and_marks_a_backlog_late(
        tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, group_id: str) -> None:
    base = _hour_ago()
    short = events((base + i * 66_000_000 for i in range(30)), service="short", file="f:short")  # holds < for
    long_times = [base + i * 100_000_000 for i in range(120)]  # 12 s of errors: holds far longer than `for`
    long = events(long_times, service="long", file="f:long")
    produce(kafka_bootstrap, kafka_topic, short + long)
    config = evaluator_config(tmp_path, kafka_bootstrap, kafka_topic, group_id, THRESHOLD)
    evaluate_once(config)

    alerts = fired(config)
    assert [a["group"] for a in alerts] == [[["service", "long"]]], alerts
    alert = alerts[0]
    assert alert["started_at"] == base  # the events' own time, an hour ago
    assert alert["fired_at"] - alert["started_at"] == 5 * NS  # `for`
    assert alert["state"] == "resolved"
    # The condition stops holding once the last events leave the 3 s window; then resolve_after.
    assert long_times[-1] + 4 * NS <= alert["resolved_at"] <= long_times[-1] + (3 + 4 + 1) * NS
    assert alert["late"] is True
    assert alert["labels"] == {"rule": "billing-errors", "severity": "critical", "service": "long", "team": "payments"}
    assert alert["count"] >= 5 and alert["samples"] and alert["samples"][0] == "payment failed"
    assert "service:long" in alert["search"] and "--since" in alert["search"]
    # The short burst was pending and never fired.
    assert [a["state"] for a in recorded(config) if a["group"] == [["service", "short"]]] == ["resolved"]


def test_ratio_fires_for_the_group_over_the_ratio_only(
        tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, group_id: str) -> None:
    base = _hour_ago()
    batch = []
    for service, every in (("api", 10), ("web", 50)):  # 10% and 2% errors (never 6% in any window)
        for i in range(100):
            level = ("ERROR", 17) if i % every == every // 2 else ("INFO", 9)
            batch += events([base + i * 100_000_000], service=service, file=f"f:{service}", level=level, start=i,
                            body="request handled")
    produce(kafka_bootstrap, kafka_topic, batch)
    rules = """
[[rules]]
name = "error-ratio"
type = "ratio"
match = "level:error"
group_by = ["service"]
window = "10s"
ratio = 0.06
min_count = 20
"""
    config = evaluator_config(tmp_path, kafka_bootstrap, kafka_topic, group_id, rules)
    evaluate_once(config)
    alerts = fired(config)
    assert [a["group"] for a in alerts] == [[["service", "api"]]], alerts
    assert alerts[0]["state"] == "resolved" and alerts[0]["late"] is True
    assert "of" in alerts[0]["summary"] and "ratio 6.0%" in alerts[0]["summary"]


def test_match_aggregates_a_groups_events_per_interval(
        tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, group_id: str) -> None:
    base = _hour_ago() // (5 * NS) * 5 * NS
    failing = events([base + NS, base + 2 * NS, base + 3 * NS, base + 6 * NS, base + 7 * NS], service="backup",
                     host="job-1", body="backup exited code 3", file="f:job1")
    fine = events([base + NS, base + 6 * NS], service="backup", host="job-2", body="backup exited code 0",
                  level=("INFO", 9), file="f:job2")
    produce(kafka_bootstrap, kafka_topic, failing + fine)
    rules = """
[[rules]]
name = "job-failed"
type = "match"
match = "exited level:error"
group_by = ["host"]
interval = "5s"
"""
    config = evaluator_config(tmp_path, kafka_bootstrap, kafka_topic, group_id, rules)
    evaluate_once(config)
    alerts = fired(config)
    assert [(a["group"], a["started_at"], a["count"]) for a in alerts] == [
        ([["host", "job-1"]], base, 3), ([["host", "job-1"]], base + 5 * NS, 2)], alerts
    assert all(a["state"] == "resolved" and a["late"] for a in alerts)
    assert alerts[0]["samples"] == ["backup exited code 3"] * 3


def test_replay_to_earliest_records_nothing_new_and_a_new_rule_sees_the_replayed_events(
        tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, group_id: str) -> None:
    base = _hour_ago()
    times = [base + i * 100_000_000 for i in range(120)]
    produce(kafka_bootstrap, kafka_topic, events(times, service="long"))
    config = evaluator_config(tmp_path, kafka_bootstrap, kafka_topic, group_id, THRESHOLD)
    evaluate_once(config)
    before = recorded(config)
    assert len(fired(config)) == 1

    replay = run_alert("replay", "--to-earliest", "--yes", "--config", str(config))
    assert replay.returncode == 0, replay.stderr
    evaluate_once(config)
    assert recorded(config) == before  # nothing new, nothing changed

    added = THRESHOLD + """
[[rules]]
name = "any-errors"
type = "threshold"
match = "level:error"
window = "10s"
threshold = 50
"""
    config.write_text(config.read_text() + added.removeprefix(THRESHOLD))
    replay = run_alert("replay", "--to-earliest", "--yes", "--config", str(config))
    assert replay.returncode == 0, replay.stderr
    evaluate_once(config)
    assert [a["rule"] for a in fired(config)] == ["any-errors", "billing-errors"]
    assert [a for a in recorded(config) if a["rule"] == "billing-errors"] == before
