"""Issue 14, "Noise": an idle consumer logged `Progress.` every 10 s (42 lines in 7 minutes) with no rate or ETA. A real
worker on a real, idle topic, logging as it does off a terminal (progress "auto": log lines), runs for longer than
two of those old intervals and logs no progress line at all; it still logs that it consumes and that it stopped."""

import signal
import time
from pathlib import Path

import orjson
import pytest

from tests.consumer.helpers import start_consumer, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def records(log: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def test_an_idle_worker_logs_no_progress(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    config = tmp_path / "consumer.toml"
    config.write_text(  # progress and log_format left at their defaults: "auto", off a terminal
        f'[kafka]\nbootstrap_servers = "{kafka_bootstrap}"\ntopics = ["{kafka_topic}"]\n'
        f'group_id = "idle-{kafka_topic}"\nsession_timeout_ms = 6000\n'
        f'[sink]\ntype = "sqlite"\npath = "{tmp_path / "logs.db"}"\n'
    )
    log = tmp_path / "consumer.log"
    worker = start_consumer("run", "--config", str(config), log=log)
    wait_for(lambda: any(r["msg"] == "Partitions assigned." for r in records(log)), 60, "the partitions assigned")
    time.sleep(25)  # idle for longer than two of the old 10 s progress intervals
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(60) == 0
    logged = records(log)
    assert [r for r in logged if r["msg"] == "Progress."] == []
    assert any(r["msg"] == "Stopped." for r in logged)
