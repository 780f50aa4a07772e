"""`check-config --connect` reaches the real broker (and the sink) and says what is there; exit 1 when it cannot."""

import subprocess
import sys
from pathlib import Path

from tests.support.kafka import ROOT


def _check(program: str, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", program, "check-config", "--connect", "--config", str(config)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_the_shipper_finds_the_broker_and_its_topic(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    config = tmp_path / "shipper.toml"
    config.write_text(f'[shipper]\nstate_dir = "{tmp_path}/state"\n[kafka]\nbootstrap_servers = "{kafka_bootstrap}"\n'
                      f'topic = "{kafka_topic}"\n[[inputs]]\nid = "a"\npaths = ["{tmp_path}/*.log"]\n')
    result = _check("shipper", config)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].startswith("kafka: connected to 1 broker(s)")
    assert lines[2] == f"kafka: topic '{kafka_topic}' has 3 partition(s)"


def test_the_consumer_reports_an_unreachable_broker_and_its_sink(tmp_path: Path) -> None:
    config = tmp_path / "consumer.toml"
    config.write_text('[kafka]\nbootstrap_servers = "127.0.0.1:1"\nconnect_timeout = "2s"\ntopics = ["logs"]\n'
                      f'[sink]\npath = "{tmp_path}/logs.db"\n')
    result = _check("consumer", config)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[1].startswith("kafka: no broker answered at 127.0.0.1:1 within 2 s")
    assert lines[2].startswith("sink: the database ") and lines[2].endswith("the first run creates it")
