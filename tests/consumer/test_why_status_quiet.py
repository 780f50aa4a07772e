"""Issue 14, "Metrics and status that mislead": `consumer status` with the broker down wrote 550 raw librdkafka lines
and failed, although the offsets and counts it shows are local to SQLite. An index filled through a real broker is
then asked about with its broker gone (a bootstrap address nothing listens on): `status`, `search` and a dry-run
`replay` print no raw librdkafka line (`%3|...|FAIL|rdkafka#...`), and `status` and `search` answer from the index."""

import re
import subprocess
from pathlib import Path

import orjson
import pytest

from tests.consumer.helpers import make_events, produce, run_consumer, sqlite_config
from tests.support.proxy import free_port

pytestmark = pytest.mark.kafka

RAW_CLIENT_LINE = re.compile(r"^%\d+\|\d+\.\d+\|[A-Z_]+\|rdkafka#", re.M)


def client_noise(result: subprocess.CompletedProcess[str]) -> list[str]:
    """librdkafka's own lines on stderr, and any stderr line that is neither JSON nor one sentence of ours."""
    raw = RAW_CLIENT_LINE.findall(result.stderr)
    return raw + [line for line in result.stderr.splitlines() if "rdkafka#" in line and not line.startswith("{")]


def test_commands_with_the_broker_down_print_no_raw_client_lines(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, group_id: str
) -> None:
    db = tmp_path / "logs.db"
    produce(kafka_bootstrap, kafka_topic, make_events(20, body="payment declined"))
    config = sqlite_config(db, kafka_bootstrap, kafka_topic, group_id)
    assert run_consumer("run", "--config", str(config), "--once", "--idle-timeout", "1").returncode == 0
    down = sqlite_config(db, f"127.0.0.1:{free_port()}", kafka_topic, group_id)

    status = run_consumer("status", "--config", str(down), "--json")
    assert status.returncode == 0, status.stderr
    assert client_noise(status) == []
    assert len(status.stderr.splitlines()) <= 3, status.stderr  # not hundreds of lines
    assert orjson.loads(status.stdout)["indexed_events"] == 20

    search = run_consumer("search", "--config", str(down), "declined", "--limit", "5")
    assert search.returncode == 0, search.stderr
    assert client_noise(search) == [] and search.stdout.count("payment declined") == 5

    replay = run_consumer("replay", "--config", str(down), "--to-earliest", "--dry-run")
    assert client_noise(replay) == [], replay.stderr
    assert len(replay.stderr.splitlines()) <= 5, replay.stderr
