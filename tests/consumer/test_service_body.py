"""A consumer worker as a Windows service runs: its role's command (`python -m consumer run --config F`) in-process
under the service host's supervision, stopped by the service's stop control instead of SIGTERM, its logs in a
rotating file. Here on Linux against the real broker; tests/windows/test_consumer_service.py runs it under Wine."""

import json
import threading
from pathlib import Path

import pytest

from logferry.service.roles import CONSUMER
from tests.consumer.helpers import indexed_ids, make_events, produce
from tests.support.polling import poll_until
from tests.support.service_body import committed_offsets, consumer_config, end_offsets, run_service_body

pytestmark = pytest.mark.kafka


def test_service_body_indexes_and_on_the_stop_control_finishes_commits_and_logs(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, group_id: str
) -> None:
    config = consumer_config(tmp_path / "worker", kafka_bootstrap, kafka_topic, group_id)
    db = tmp_path / "worker" / "index" / "logs.db"
    events = make_events(300)
    produce(kafka_bootstrap, kafka_topic, events)
    stop = threading.Event()
    reports: list[int] = []

    def stop_when_indexed() -> None:
        try:
            poll_until(lambda: len(indexed_ids(db)) if db.exists() else 0, lambda n: n >= len(events),
                       deadline=120, what="the service body indexing every event", transient=(Exception,))
        finally:
            stop.set()  # what SvcStop / SvcShutdown / preshutdown do

    stopper = threading.Thread(target=stop_when_indexed, daemon=True)
    stopper.start()
    code = run_service_body(CONSUMER, "logferry-consumer-2", config, tmp_path / "logs", stop, reports=reports)
    stopper.join(5)
    log_file = tmp_path / "logs" / "logferry-consumer-2.log"
    assert code == 0, log_file.read_text(encoding="utf-8") if log_file.exists() else "no log"
    assert sorted(indexed_ids(db)) == sorted(event["event_id"] for event in events)  # exactly once
    ends = {partition: end for partition, end in end_offsets(kafka_bootstrap, kafka_topic).items() if end > 0}
    committed = committed_offsets(kafka_bootstrap, group_id, kafka_topic)
    assert ends and {partition: committed[partition] for partition in ends} == ends  # committed up to the end
    records = [json.loads(line) for line in (tmp_path / "logs" / "logferry-consumer-2.log").read_text().splitlines()]
    messages = [(record["msg"], record.get("signal")) for record in records]
    assert ("Stop requested; finishing the batch.", "service stop") in messages
    assert records[-1]["msg"] == "The service's command ended." and records[-1]["exit_code"] == 0


def test_service_body_with_a_bad_config_ends_with_exit_2_and_says_why_in_its_log(tmp_path: Path) -> None:
    config = tmp_path / "consumer.toml"
    config.write_text("[consumer]\nbatch_max_events = 'many'\n[kafka]\ntopics = ['t']\ngroup_id = 'g'\n")
    code = run_service_body(CONSUMER, "logferry-consumer", config, tmp_path / "logs", threading.Event())
    assert code == 2  # no stop was asked for: the SCM's recovery actions take over, as for a crash
    text = (tmp_path / "logs" / "consumer.log").read_text()
    errors = [line for line in text.splitlines() if line.startswith("config error:")]
    assert len(errors) == 1 and "consumer.batch_max_events" in errors[0], text
    assert "Traceback" not in text
