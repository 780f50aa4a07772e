"""The alert evaluator as a service runs it: its role's command (`python -m consumer alert run --config F`) in-process
under the service host's supervision (logferry.service.body, as on Windows), stopped by the service's stop control
through logferry.service.stopping instead of SIGTERM, after it recorded the alert of the events it read; and the
role's settings hook (shutdown time, the state folder) read from the evaluator's own config."""

import json
import threading
import time
from pathlib import Path

import pytest

from consumer.alerting.service_settings import service_settings
from logferry.errors import ConfigError
from logferry.service.roles import ALERT
from tests.alerting.helpers import NS, evaluator_config, events, fired
from tests.consumer.helpers import produce
from tests.support.polling import poll_until
from tests.support.service_body import run_service_body

RULE = """
[[rules]]
name = "burst"
type = "threshold"
match = "level:error"
group_by = ["service"]
window = "1h"
threshold = 5
"""


@pytest.mark.kafka
def test_the_service_body_evaluates_and_the_stop_control_ends_it(
        tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, group_id: str) -> None:
    config = evaluator_config(tmp_path, kafka_bootstrap, kafka_topic, group_id, RULE)
    base = time.time_ns() - 600 * NS
    produce(kafka_bootstrap, kafka_topic, events([base + i * NS for i in range(10)]))
    stop = threading.Event()

    def stop_when_fired() -> None:
        try:
            poll_until(lambda: fired(config), bool, deadline=120, what="the service body to record the alert",
                       transient=(Exception,))
        finally:
            stop.set()  # what SvcStop / SvcShutdown / preshutdown do

    stopper = threading.Thread(target=stop_when_fired, daemon=True)
    stopper.start()
    # Run on this (not the main) thread's stack as the host runs it: a signal handler could not be installed here
    # at all off the main thread, so the stop can only arrive through route_service_stop.
    code = run_service_body(ALERT, ALERT.service_name, config, tmp_path / "logs", stop)
    stopper.join(5)
    log_file = tmp_path / "logs" / "alert.log"
    assert code == 0, log_file.read_text(encoding="utf-8") if log_file.exists() else "no log"
    assert [a["group"] for a in fired(config)] == [[["service", "billing"]]]
    records = [json.loads(line) for line in log_file.read_text().splitlines() if line.startswith("{")]
    messages = [(record["msg"], record.get("signal")) for record in records]
    assert ("Stop requested; finishing the batch.", "service stop") in messages
    assert records[-1]["msg"] == "The service's command ended." and records[-1]["exit_code"] == 0


def test_the_settings_hook_reads_the_shutdown_time_and_the_state_folder(tmp_path: Path) -> None:
    config = evaluator_config(tmp_path, "127.0.0.1:9092", "logs", "alerts-g", RULE)
    config.write_text(config.read_text().replace("[consumer]\n", "[consumer]\nshutdown_timeout = 42\n", 1))
    settings = service_settings(str(config))
    assert settings.shutdown_timeout == 42
    assert settings.private_dirs == (str(tmp_path),)  # where the state database lives


def test_the_settings_hook_refuses_a_bad_config_naming_the_key(tmp_path: Path) -> None:
    config = evaluator_config(tmp_path, "127.0.0.1:9092", "logs", "alerts-g", RULE.replace('"1h"', '"an hour"'))
    with pytest.raises(ConfigError) as raised:
        service_settings(str(config))
    assert raised.value.key == "rules[0].window"
