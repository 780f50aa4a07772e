"""The evaluator running (not --once) against the real broker, on wall time: a burst fires at once and resolves when
it stops (not late); an absence rule fires for a service that stopped logging and not for one that keeps logging."""

import threading
import time
from pathlib import Path

import pytest

from tests.alerting.helpers import NS, evaluator_config, events, fired, recorded, start_evaluator
from tests.consumer.helpers import produce
from tests.support.polling import poll_until

pytestmark = pytest.mark.kafka


def test_a_live_burst_fires_then_resolves_and_is_not_late(
        tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, group_id: str) -> None:
    rules = """
[[rules]]
name = "burst"
type = "threshold"
match = "level:error"
group_by = ["service"]
window = "2s"
threshold = 10
resolve_after = "1s"
"""
    config = evaluator_config(tmp_path, kafka_bootstrap, kafka_topic, group_id, rules, lateness="3s")
    log = tmp_path / "evaluator.log"
    start_evaluator(config, log)
    poll_until(log.read_text, lambda text: "Partitions assigned." in text, deadline=60,
               what="the evaluator to get its partitions")
    time.sleep(0.5)
    now = time.time_ns()
    produce(kafka_bootstrap, kafka_topic, events([now + i * 10_000_000 for i in range(20)]))
    alert = poll_until(lambda: fired(config), bool, deadline=60, what="the alert to fire")[0]
    assert alert["late"] is False and alert["count"] >= 10
    resolved = poll_until(lambda: fired(config), lambda found: found[0]["state"] == "resolved", deadline=60,
                          what="the alert to resolve")
    assert len(resolved) == 1 and resolved[0]["resolved_at"] >= now


def test_absence_fires_for_a_service_that_stopped_logging_only(
        tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, group_id: str) -> None:
    rules = """
[[rules]]
name = "silent"
type = "absence"
match = ""
group_by = ["service"]
window = "3s"
"""
    config = evaluator_config(tmp_path, kafka_bootstrap, kafka_topic, group_id, rules)
    log = tmp_path / "evaluator.log"
    start_evaluator(config, log)
    poll_until(log.read_text, lambda text: "Partitions assigned." in text, deadline=60,
               what="the evaluator to get its partitions")
    stop = threading.Event()
    sent = {"steady": 0}

    def keep_logging() -> None:
        while not stop.is_set():
            produce(kafka_bootstrap, kafka_topic, events([time.time_ns()], service="steady", file="f:steady",
                                                         start=sent["steady"], level=("INFO", 9)))
            sent["steady"] += 1
            stop.wait(0.3)

    writer = threading.Thread(target=keep_logging, daemon=True)
    writer.start()
    try:
        now = time.time_ns()
        produce(kafka_bootstrap, kafka_topic, events([now + i * 100_000_000 for i in range(10)], service="stopped",
                                                     file="f:stopped", level=("INFO", 9)))
        alerts = poll_until(lambda: fired(config), bool, deadline=90, what="the absence alert")
        assert [a["group"] for a in alerts] == [[["service", "stopped"]]]
        assert alerts[0]["started_at"] >= now + 3 * NS  # the absence began a window after its last event
        time.sleep(2)  # the steady service keeps logging: still nothing for it
        assert all(a["group"] == [["service", "stopped"]] for a in recorded(config))
    finally:
        stop.set()
        writer.join(timeout=30)
    assert sent["steady"] > 5


def test_the_metrics_show_alerts_by_state_and_the_evaluation_lag(
        tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, group_id: str) -> None:
    from tests.support.metrics import naming_problems, scrape, value
    from tests.support.proxy import free_port

    address = f"127.0.0.1:{free_port()}"
    rules = """
[[rules]]
name = "burst"
type = "threshold"
match = "level:error"
window = "1h"
threshold = 5
"""
    config = evaluator_config(tmp_path, kafka_bootstrap, kafka_topic, group_id, rules, lateness="1h")
    config.write_text(config.read_text().replace("[consumer]\n", f'[consumer]\nmetrics_address = "{address}"\n', 1))
    start_evaluator(config, tmp_path / "evaluator.log")
    ten_minutes_ago = time.time_ns() - 600 * NS
    produce(kafka_bootstrap, kafka_topic, events([ten_minutes_ago + i * NS for i in range(10)]))
    families = poll_until(lambda: scrape(address), lambda found: value(
        found, "logferry_evaluator_open_alerts", state="firing") == 1, deadline=60, what="one firing alert",
        transient=(OSError,))
    assert value(families, "logferry_evaluator_open_alerts", state="pending") == 0
    assert value(families, "logferry_evaluator_changed_alerts_total", state="firing") == 1
    assert value(families, "logferry_evaluator_evaluated_events_total") == 10
    lag = value(families, "logferry_evaluator_lag_seconds")
    assert lag is not None and lag >= 590  # the newest event is about ten minutes old
    assert naming_problems(families) == []
