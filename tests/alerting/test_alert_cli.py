"""The `alert` commands: check-config (with a rules_dir), list, and test over a real SQLite index."""

import json
import time
from pathlib import Path

import pytest

from tests.alerting.helpers import NS, evaluate_once, evaluator_config, events, run_alert
from tests.consumer.helpers import produce, run_consumer, sqlite_config

RULE = """
[[rules]]
name = "burst"
type = "threshold"
match = "level:error payment"
group_by = ["service"]
window = "10s"
threshold = 20
"""


def test_check_config_reads_the_rules_dir_and_names_a_bad_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules.d"
    rules.mkdir()
    (rules / "jobs.toml").write_text('[[rules]]\nname = "nightly"\ntype = "absence"\nschedule = "0 3 * * *"\n'
                                     'timezone = "Europe/Paris"\nmatch = "reconcile finished"\n')
    config = evaluator_config(tmp_path, "127.0.0.1:9092", "logs", "g", RULE, extra='rules_dir = "rules.d"')
    result = run_alert("check-config", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "2 rule(s)" in result.stdout
    (rules / "broken.toml").write_text('[[rules]]\nname = "x"\ntype = "absence"\nschedule = "61 * * * *"\n')
    result = run_alert("check-config", "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "config error: broken.toml: rules[0].schedule: the minute field's value '61' is not from 0 to 59"]


@pytest.mark.kafka
def test_list_and_test_show_what_fired(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, group_id: str) -> None:
    base = (time.time_ns() - 1800 * NS) // NS * NS
    produce(kafka_bootstrap, kafka_topic, events([base + i * 100_000_000 for i in range(30)]))
    index = tmp_path / "index" / "logs.db"
    index.parent.mkdir()
    indexer = sqlite_config(index, kafka_bootstrap, kafka_topic, f"indexer-{group_id}")
    indexed = run_consumer("run", "--once", "--idle-timeout", "2", "--config", str(indexer))
    assert indexed.returncode == 0, indexed.stderr[-2000:]

    config = evaluator_config(tmp_path, kafka_bootstrap, kafka_topic, group_id, RULE,
                              extra=f'index_config = "{indexer}"')
    tested = run_alert("test", "--rule", "burst", "--since", "2h", "--json", "--config", str(config))
    assert tested.returncode == 0, tested.stderr
    would = [json.loads(line) for line in tested.stdout.splitlines()]
    began = base + NS  # 10 events per 1 s bucket: the 20th arrives in the second bucket
    assert [(a["state"], a["group"], a["started_at"]) for a in would] == [
        ("firing", [["service", "billing"]], began), ("resolved", [["service", "billing"]], began)]
    assert "30 event(s) read; " in tested.stderr

    evaluate_once(config)
    listed = run_alert("list", "--json", "--config", str(config))
    assert listed.returncode == 0, listed.stderr
    found = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(a["rule"], a["state"], a["started_at"], a["late"]) for a in found] == [("burst", "resolved", began, True)]
    text = run_alert("list", "--config", str(config))
    assert text.stdout.startswith("resolved") and "service=billing" in text.stdout and " late:" in text.stdout
    unknown = run_alert("test", "--rule", "nope", "--config", str(config))
    assert unknown.returncode == 2 and "no rule is named 'nope'" in unknown.stderr


def test_the_evaluator_reads_a_config_shared_with_the_indexer_only_with_a_group_of_its_own(tmp_path: Path) -> None:
    shared = tmp_path / "consumer.toml"
    base = (f'[kafka]\nbootstrap_servers = "127.0.0.1:9092"\ntopics = ["logs"]\ngroup_id = "logferry-indexer"\n\n'
            f'[sink]\ntype = "sqlite"\npath = "{tmp_path / "logs.db"}"\n\n')
    shared.write_text(base + f'[alert]\nstate_path = "{tmp_path / "alerts.db"}"\n' + RULE)
    refused = run_alert("check-config", "--config", str(shared))
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "config error: alert.group_id: is required: [kafka] group_id is 'logferry-indexer', the indexer's group, "
        "which the evaluator must not join"]
    shared.write_text(base + f'[alert]\nstate_path = "{tmp_path / "alerts.db"}"\ngroup_id = "logferry-alerts"\n' + RULE)
    accepted = run_alert("check-config", "--config", str(shared))
    assert accepted.returncode == 0, accepted.stderr
    assert "group 'logferry-alerts'" in accepted.stdout
