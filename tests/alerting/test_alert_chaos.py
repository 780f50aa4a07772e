"""Chaos: the evaluator, with its real notifier and outbox delivery mailing a real SMTP server (aiosmtpd), is killed
with SIGKILL 20 times while a writer produces 50 bursts, each of which should fire one alert. Exactly 50 alerts are
recorded, each having counted its burst's 12 events exactly once (a batch evaluated twice would count 24, a lost one
fewer than 10 and no alert); every notification queued is delivered, each under one Message-ID, and a kill between
the server's acceptance and the outbox's record repeats at most one mail (the delivery sends one at a time), with the
same Message-ID. And the SMTP server down for a minute while alerts fire loses nothing: every notification arrives
once it is back."""

import random
import signal
import threading
import time
from collections import Counter
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.alerting.helpers import NS, evaluator_config, events, fired, start_evaluator, state_path
from tests.consumer.helpers import produce
from tests.support.notify import outbox, state_db
from tests.support.polling import poll_until
from tests.support.smtp import SmtpServer

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

BURSTS = 50
PER_BURST = 12
KILLS = 20
DOWN_SECONDS = 60.0  # the minute

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


def mail_tables(server: SmtpServer) -> str:
    return f"""
[[receivers]]
name = "ops-mail"
type = "email"
host = "{server.host}"
port = {server.port}
security = "none"
sender = "alerts@example.test"
to = ["ops@example.test"]
retry_initial = "0.2s"
retry_max = "2s"

[[routes]]
receiver = "ops-mail"
group_by = ["rule", "service"]
group_wait = "0s"
group_interval = "1s"
"""


def delivered(config: Path) -> list[dict[str, Any]]:
    """The outbox rows, once every one of them is recorded sent (else an empty list)."""
    rows = outbox(state_db(state_path(config)))
    return rows if rows and all(r["status"] == "sent" for r in rows) else []


def assert_each_delivered_under_one_id(rows: list[dict[str, Any]], mails: list[EmailMessage], repeats: int) -> None:
    ids = Counter(str(m["Message-ID"]) for m in mails)
    assert sorted(ids) == sorted(f"<{r['notification_id']}@example.test>" for r in rows), "one Message-ID per row"
    assert sum(n - 1 for n in ids.values()) <= repeats, ids
    for message_id, count in ids.items():
        if count > 1:  # a repeat is the same mail: same subject and body
            same = [m for m in mails if str(m["Message-ID"]) == message_id]
            assert len({(str(m["Subject"]), m.get_body(("plain",)).get_content()) for m in same}) == 1  # type: ignore[union-attr]


@pytest.fixture
def smtp() -> Any:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_sigkill_twenty_times_records_exactly_fifty_alerts_and_delivers_every_notification(
        tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, group_id: str, smtp: SmtpServer) -> None:
    config = evaluator_config(tmp_path, kafka_bootstrap, kafka_topic, group_id, RULES, extra=mail_tables(smtp))
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

    poll_until(lambda: [a for a in fired(config) if a["state"] == "resolved"], lambda found: len(found) == BURSTS,
               deadline=120, what="every alert to resolve")
    rows = poll_until(lambda: delivered(config), bool, deadline=120, what="every notification recorded sent")
    time.sleep(3)  # a notification made late would be queued by now
    rows = poll_until(lambda: delivered(config), bool, deadline=120, what="every notification recorded sent")
    mails = smtp.mails
    assert_each_delivered_under_one_id(rows, mails, repeats=KILLS)
    mailed_groups = {str(m["Subject"]).rsplit("service=", 1)[1] for m in mails}
    assert mailed_groups == {f"svc-{i}" for i in range(BURSTS)}, "every alert was mailed"
    # Every alert is in a mail that shows it firing or fired (and in one that shows it resolved).
    shows = Counter((str(r["payload"]["group"]), a["state"]) for r in rows for a in r["payload"]["alerts"])
    assert len({group for group, _state in shows}) == BURSTS
    assert all(shows[(group, "resolved")] >= 1 for group, _state in shows)


def test_the_smtp_server_down_for_a_minute_while_alerts_fire_loses_nothing(
        tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, group_id: str) -> None:
    server = SmtpServer()  # not started yet: its port refuses connections
    config = evaluator_config(tmp_path, kafka_bootstrap, kafka_topic, group_id, RULES, extra=mail_tables(server))
    base = (time.time_ns() - 3600 * NS) // NS * NS
    log = tmp_path / "evaluator.log"
    start_evaluator(config, log)
    down_until = time.monotonic() + DOWN_SECONDS
    bursts = 0
    try:
        while time.monotonic() < down_until - 10:  # bursts all along the outage, the last well before its end
            start = base + bursts * 20 * NS
            produce(kafka_bootstrap, kafka_topic, events(
                [start + i * 100_000_000 for i in range(PER_BURST)], service=f"svc-{bursts}", file=f"f:{bursts}"))
            bursts += 1
            time.sleep(DOWN_SECONDS / 8)
        poll_until(lambda: fired(config), lambda found: len(found) == bursts, deadline=DOWN_SECONDS,
                   what="every burst's alert while the server is down")
        rows = outbox(state_db(state_path(config)))
        assert rows and all(r["status"] == "pending" for r in rows), [(r["status"], r["last_error"]) for r in rows]
        time.sleep(max(0.0, down_until - time.monotonic()))
        rows = outbox(state_db(state_path(config)))
        assert all(r["status"] == "pending" for r in rows), "nothing given up or sent while the server is down"
        assert any(r["attempts"] >= 3 for r in rows), "retried all along"
        server.start()
        rows = poll_until(lambda: delivered(config), bool, deadline=120, what="every notification once it is back")
        time.sleep(2)
        rows = poll_until(lambda: delivered(config), bool, deadline=120, what="every notification recorded sent")
        mails = server.mails
        assert_each_delivered_under_one_id(rows, mails, repeats=0)
        assert {str(m["Subject"]).rsplit("service=", 1)[1] for m in mails} == {f"svc-{i}" for i in range(bursts)}
    finally:
        server.stop()
