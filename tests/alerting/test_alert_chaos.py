"""Chaos: the evaluator is killed with SIGKILL 20 times while a writer produces 50 bursts, each of which should fire
one alert. Exactly 50 alerts are recorded, each having counted its burst's 12 events exactly once (a batch evaluated
twice would count 24, a lost one fewer than 10 and no alert). Notification delivery is asserted once the notifier is
merged (it is handed the changes inside the same transaction)."""

import random
import signal
import threading
import time
from pathlib import Path

import pytest

from tests.alerting.helpers import NS, evaluator_config, events, fired, start_evaluator
from tests.consumer.helpers import produce
from tests.support.polling import poll_until

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

BURSTS = 50
PER_BURST = 12
KILLS = 20

RULES = """
[[rules]]
name = "burst"
type = "threshold"
match = "level:error"
group_by = ["service"]
window = "5s"
step = "1s"
threshold = 10
"""


def test_sigkill_twenty_times_records_exactly_fifty_alerts(
        tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, group_id: str) -> None:
    config = evaluator_config(tmp_path, kafka_bootstrap, kafka_topic, group_id, RULES)
    base = (time.time_ns() - 3600 * NS) // NS * NS
    done = threading.Event()
    failures: list[BaseException] = []

    def write() -> None:
        try:
            for burst in range(BURSTS):
                start = base + burst * 20 * NS
                produce(kafka_bootstrap, kafka_topic, events(
                    [start + i * 100_000_000 for i in range(PER_BURST)], service=f"svc-{burst}", file=f"f:{burst}"))
                time.sleep(0.25)
        except BaseException as error:
            failures.append(error)
        finally:
            done.set()

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    log = tmp_path / "evaluator.log"
    rng = random.Random(15)
    try:
        for _ in range(KILLS):
            process = start_evaluator(config, log)
            time.sleep(rng.uniform(0.5, 2.5))
            process.send_signal(signal.SIGKILL)
            process.wait()
    finally:
        done.wait(timeout=120)
        writer.join(timeout=10)
    assert not failures, failures
    start_evaluator(config, log)
    alerts = poll_until(lambda: fired(config), lambda found: len(found) >= BURSTS, deadline=180,
                        what=f"{BURSTS} alerts")
    time.sleep(3)  # anything extra would be recorded by now
    alerts = fired(config)
    assert len(alerts) == BURSTS
    assert sorted(a["group"][0][1] for a in alerts) == sorted(f"svc-{i}" for i in range(BURSTS))
    assert {a["count"] for a in alerts} == {PER_BURST}
    assert sorted(a["started_at"] for a in alerts) == [base + b * 20 * NS for b in range(BURSTS)]  # 10 in 1st second
