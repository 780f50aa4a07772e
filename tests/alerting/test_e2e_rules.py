"""What tests/alerting/test_eval_rules.py and test_eval_live.py leave out, against the real broker: a ratio rule
respects `for` (a group over the ratio only briefly stays pending and never fires) and resolves; an absence rule
respects `for` (a pause shorter than window + for fires nothing) and resolves when the silent service logs again."""

import threading
import time
from pathlib import Path

import pytest

from tests.alerting.helpers import NS, evaluate_once, evaluator_config, events, fired, recorded, start_evaluator
from tests.consumer.helpers import produce
from tests.support.polling import poll_until

pytestmark = pytest.mark.kafka


def test_ratio_respects_for_and_resolves(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str,
                                         group_id: str) -> None:
    base = (time.time_ns() - 3600 * NS) // NS * NS
    batch = []
    for i in range(100):  # api: 10% errors for 10 s, over the ratio far longer than `for`
        level = ("ERROR", 17) if i % 10 == 5 else ("INFO", 9)
        batch += events([base + i * 100_000_000], service="api", file="f:api", level=level, start=i, body="handled")
    for i in range(20):  # blip: 10% errors in its first 2 s, then diluted below the ratio within a second
        level = ("ERROR", 17) if i % 10 == 5 else ("INFO", 9)
        batch += events([base + i * 100_000_000], service="blip", file="f:blip", level=level, start=i, body="handled")
    batch += events([base + 2 * NS + i * 10_000_000 for i in range(100)], service="blip", file="f:blip",
                    level=("INFO", 9), start=20, body="handled")
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
for = "3s"
"""
    config = evaluator_config(tmp_path, kafka_bootstrap, kafka_topic, group_id, rules)
    evaluate_once(config)
    alerts = fired(config)
    assert [a["group"] for a in alerts] == [[["service", "api"]]], alerts
    alert = alerts[0]
    assert alert["fired_at"] - alert["started_at"] == 3 * NS  # `for`, in event time
    assert alert["state"] == "resolved" and alert["resolved_at"] > alert["fired_at"]
    blip = [a for a in recorded(config) if a["group"] == [["service", "blip"]]]
    assert [(a["state"], a["fired_at"]) for a in blip] == [("resolved", None)], "pending, never fired"


def test_absence_respects_for_and_resolves_when_the_service_logs_again(
        tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, group_id: str) -> None:
    rules = """
[[rules]]
name = "silent"
type = "absence"
match = ""
group_by = ["service"]
window = "2s"
for = "6s"
"""
    config = evaluator_config(tmp_path, kafka_bootstrap, kafka_topic, group_id, rules)
    log = tmp_path / "evaluator.log"
    start_evaluator(config, log)
    poll_until(log.read_text, lambda text: "Partitions assigned." in text, deadline=90,
               what="the evaluator to get its partitions")
    stop = threading.Event()
    paused = {"steady": threading.Event(), "blip": threading.Event(), "stopped": threading.Event()}
    sent = {name: 0 for name in paused}

    def keep_logging() -> None:
        while not stop.is_set():
            batch = []
            for name, pause in paused.items():
                if not pause.is_set():
                    batch += events([time.time_ns()], service=name, file=f"f:{name}", start=sent[name],
                                    level=("INFO", 9))
                    sent[name] += 1
            produce(kafka_bootstrap, kafka_topic, batch)
            stop.wait(0.3)

    writer = threading.Thread(target=keep_logging, daemon=True)
    writer.start()
    try:
        time.sleep(3)
        paused["stopped"].set()
        paused["blip"].set()
        time.sleep(3)  # blip pauses a second beyond the window: pending, 5 s short of `for`
        paused["blip"].clear()
        alerts = poll_until(lambda: fired(config), bool, deadline=90, what="the absence alert of the stopped service")
        assert [a["group"] for a in alerts] == [[["service", "stopped"]]]
        assert alerts[0]["fired_at"] - alerts[0]["started_at"] == 6 * NS  # `for`
        paused["stopped"].clear()  # it logs again: the alert resolves
        poll_until(lambda: fired(config), lambda found: found[0]["state"] == "resolved", deadline=90,
                   what="the absence alert to resolve")
        time.sleep(1)
        assert [a["group"] for a in fired(config)] == [[["service", "stopped"]]], "blip and steady never fired"
    finally:
        stop.set()
        writer.join(timeout=30)
    assert sent["steady"] > 10, sent  # it kept logging all along
