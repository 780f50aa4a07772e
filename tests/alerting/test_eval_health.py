"""The evaluator's /health says what the indexer's says: 503 naming kafka_unreachable once Kafka has been unreachable
for longer than health.delivery_stall, and 200 again once the broker is back, though no record arrives (an evaluator
with nothing to read is told by its group's rejoin or by the indexer's outage probe, which it serves too)."""

import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.alerting.helpers import evaluator_config, events, start_evaluator
from tests.consumer.helpers import produce, wait_for
from tests.support.health import health, problems
from tests.support.kafka import dedicated_broker, new_topic
from tests.support.proxy import free_port

pytestmark = pytest.mark.kafka

RULES = """
[[rules]]
name = "burst"
type = "threshold"
match = "level:error"
group_by = ["service"]
window = "1m"
threshold = 1000
"""


def _served(config: Path, port: int) -> None:
    """Serve /metrics and /health on `port`, with a short bound on outages."""
    text = config.read_text().replace("[consumer]\n", f'[consumer]\nmetrics_address = "127.0.0.1:{port}"\n', 1)
    config.write_text(text + "\n[health]\ndelivery_stall = 2.0\n")


def _log_tail(log: Path) -> str:
    return "evaluator log, last 40 lines:\n" + "\n".join(log.read_text(errors="replace").splitlines()[-40:])


@contextmanager
def running(config: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The evaluator on `config`, logging to `log`; its log's tail printed when an assertion fails, and it must exit 0
    on SIGTERM at the end (tests.alerting.helpers kills it in any case)."""
    evaluator = start_evaluator(config, log)
    try:
        yield evaluator
    except AssertionError:
        print(_log_tail(log))
        raise
    finally:
        evaluator.send_signal(signal.SIGTERM)
        code = evaluator.wait(60)
    assert code == 0


def test_health_reports_a_broker_nothing_answers_at(tmp_path: Path, group_id: str) -> None:
    port = free_port()
    config = evaluator_config(tmp_path, f"127.0.0.1:{free_port()}", "nowhere", group_id, RULES)
    _served(config, port)
    with running(config, tmp_path / "evaluator.log") as evaluator:
        wait_for(lambda: health(port)[0] == 503, 60, "/health to report the unreachable broker")
        [problem] = health(port)[1]["problems"]
        assert problem["problem"] == "kafka_unreachable" and problem["for_s"] > 2.0
        assert evaluator.poll() is None, "an evaluator keeps retrying while Kafka is unreachable"


@pytest.mark.slow
def test_health_fails_while_the_broker_is_down_and_recovers_while_idle(tmp_path: Path, group_id: str) -> None:
    port = free_port()
    with dedicated_broker(tmp_path / "kafka") as broker:
        topic = new_topic(broker.bootstrap)
        produce(broker.bootstrap, topic, events([time.time_ns()]))
        config = evaluator_config(tmp_path, broker.bootstrap, topic, group_id, RULES)
        _served(config, port)
        log = tmp_path / "evaluator.log"
        with running(config, log) as evaluator:
            wait_for(lambda: "Partitions assigned." in log.read_text(errors="replace"), 120, "the evaluator's partitions")
            wait_for(lambda: health(port)[0] == 200, 60, "/health healthy while the broker runs")
            broker.stop()
            wait_for(lambda: health(port)[0] == 503, 90, "/health to report the outage")
            assert problems(port) == ["kafka_unreachable"]
            assert evaluator.poll() is None, "an evaluator keeps retrying while Kafka is unreachable"
            broker.start()  # nothing is produced: no record tells the evaluator the broker is back
            wait_for(lambda: health(port)[0] == 200, 90, "/health to recover with no record arriving")
