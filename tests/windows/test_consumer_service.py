"""A consumer worker as a Windows service: its body (`python -m consumer run --config F` in the service host)
indexes and on the stop control finishes its batch and commits; several workers are services of their own names,
each logging to its own file; and (on real Windows only) two workers install, start, index, stop and uninstall."""

import json
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from logferry.service.roles import CONSUMER
from tests.consumer.helpers import indexed_ids, make_events, produce
from tests.support.polling import poll_until
from tests.support.service_body import committed_offsets, consumer_config, end_offsets, run_service_body

pytestmark = pytest.mark.windows

ROOT = Path(__file__).resolve().parents[2]


def test_consumer_service_body_indexes_and_on_stop_finishes_and_commits(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    group = f"svc-{uuid.uuid4().hex[:8]}"
    config = consumer_config(tmp_path / "worker", kafka_bootstrap, kafka_topic, group)
    db = tmp_path / "worker" / "index" / "logs.db"
    events = make_events(300)
    produce(kafka_bootstrap, kafka_topic, events)
    stop = threading.Event()

    def stop_when_indexed() -> None:
        try:
            poll_until(lambda: len(indexed_ids(db)) if db.exists() else 0, lambda n: n >= len(events),
                       deadline=120, what="the consumer service indexing every event", transient=(Exception,))
        finally:
            stop.set()  # what SvcStop / SvcShutdown / preshutdown do

    stopper = threading.Thread(target=stop_when_indexed, daemon=True)
    stopper.start()
    code = run_service_body(CONSUMER, "logferry-consumer-2", config, tmp_path / "logs", stop)
    stopper.join(5)
    log_file = tmp_path / "logs" / "logferry-consumer-2.log"
    assert code == 0, log_file.read_text(encoding="utf-8") if log_file.exists() else "no log"
    assert sorted(indexed_ids(db)) == sorted(event["event_id"] for event in events)  # exactly once
    ends = {partition: end for partition, end in end_offsets(kafka_bootstrap, kafka_topic).items() if end > 0}
    committed = committed_offsets(kafka_bootstrap, group, kafka_topic)
    assert ends and {partition: committed[partition] for partition in ends} == ends
    records = [json.loads(line) for line in
               (tmp_path / "logs" / "logferry-consumer-2.log").read_text(encoding="utf-8").splitlines()]
    assert ("Stop requested; finishing the batch.", "service stop") in [(r["msg"], r.get("signal")) for r in records]


def test_consumer_service_body_with_a_bad_config_exits_2_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "consumer.toml"
    config.write_text("[consumer]\nbatch_max_events = 'many'\n[kafka]\ntopics = ['t']\ngroup_id = 'g'\n", encoding="utf-8")
    assert run_service_body(CONSUMER, CONSUMER.service_name, config, tmp_path / "logs", threading.Event()) == 2
    text = (tmp_path / "logs" / "consumer.log").read_text(encoding="utf-8")
    assert [line for line in text.splitlines() if line.startswith("config error: consumer.batch_max_events")], text


def consumer_service(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "consumer", "service", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=180)


@pytest.mark.real_windows
@pytest.mark.kafka
def test_two_consumer_workers_install_start_index_stop_and_uninstall(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    group = f"svc-{uuid.uuid4().hex[:8]}"
    config = consumer_config(tmp_path / "workers", kafka_bootstrap, kafka_topic, group)
    db = tmp_path / "workers" / "index" / "logs.db"
    names = [f"logferry-consumer-test-{uuid.uuid4().hex[:6]}-{i}" for i in (1, 2)]
    events = make_events(200, file="a") + make_events(200, file="b")
    installed: list[str] = []
    try:
        for name in names:
            result = consumer_service("install", "--config", str(config), "--name", name)
            assert result.returncode == 0, result.stderr
            installed.append(name)
            started = consumer_service("start", "--name", name)
            assert started.returncode == 0, started.stdout + started.stderr
        produce(kafka_bootstrap, kafka_topic, events)
        poll_until(lambda: len(indexed_ids(db)) if db.exists() else 0, lambda n: n >= len(events), deadline=180,
                   what="two consumer services indexing every event", transient=(Exception,))
        for name in names:
            assert consumer_service("status", "--name", name).returncode == 0
            stopped = consumer_service("stop", "--config", str(config), "--name", name)
            assert stopped.returncode == 0, stopped.stdout + stopped.stderr
            assert consumer_service("status", "--name", name).returncode == 3
    finally:
        for name in installed:
            consumer_service("uninstall", "--name", name)
    for name in names:
        assert consumer_service("status", "--name", name).returncode == 4
    assert sorted(indexed_ids(db)) == sorted(event["event_id"] for event in events)
