"""End to end through the real parts: events into the real broker, the evaluator running as a process (`alert run`),
its notifier and outbox delivery, a real SMTP server (aiosmtpd) and a real HTTP server for the webhook. A burst fires
an email and a webhook, then both say it resolved; the evaluator's /metrics (served by logferry.exporter) show the
alerts by state, the notifications sent and failed by receiver and the evaluation lag, all named by the rules of
tests/support/metrics.py; and the silence commands mute a running evaluator's alert, then let it through."""

import json
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.alerting.helpers import NS, evaluator_config, events, fired, run_alert, start_evaluator, state_path
from tests.consumer.helpers import produce
from tests.support.metrics import naming_problems, scrape, value
from tests.support.notify import outbox, state_db
from tests.support.polling import poll_until
from tests.support.proxy import free_port
from tests.support.smtp import SmtpServer
from tests.support.webhook import WebhookServer

pytestmark = pytest.mark.kafka

RULES = """
[[rules]]
name = "burst-mail"
type = "threshold"
match = "level:error payment"
group_by = ["service"]
window = "2s"
threshold = 10
resolve_after = "1s"
severity = "critical"

[[rules]]
name = "burst-hook"
type = "threshold"
match = "level:error"
group_by = ["service"]
window = "2s"
threshold = 10
resolve_after = "1s"
"""


def notify_tables(smtp: SmtpServer, hook_url: str) -> str:
    return f"""
[[receivers]]
name = "ops-mail"
type = "email"
host = "{smtp.host}"
port = {smtp.port}
security = "none"
sender = "alerts@example.test"
to = ["ops@example.test"]
retry_initial = "0.2s"
retry_max = "1s"

[[receivers]]
name = "ops-hook"
type = "webhook"
url = "{hook_url}"
retry_initial = "0.2s"
retry_max = "1s"

[[routes]]
receiver = "ops-mail"
severities = ["critical"]
group_by = ["rule", "service"]
group_wait = "0s"
group_interval = "1s"

[[routes]]
receiver = "ops-hook"
group_by = ["rule", "service"]
group_wait = "0s"
group_interval = "1s"
"""


@pytest.fixture
def servers() -> Iterator[tuple[SmtpServer, WebhookServer]]:
    """A real SMTP server and a real webhook server on loopback, stopped whatever happens."""
    smtp, hook = SmtpServer(), WebhookServer()
    smtp.start()
    try:
        hook.start()
        try:
            yield smtp, hook
        finally:
            hook.stop()
    finally:
        smtp.stop()


def _started(config: Path, log: Path) -> None:
    start_evaluator(config, log)
    poll_until(log.read_text, lambda text: "Partitions assigned." in text, deadline=90,
               what="the evaluator to get its partitions")


def _subjects(mails: list[EmailMessage]) -> list[str]:
    return [str(m["Subject"]) for m in mails]


def test_a_burst_fires_an_email_and_a_webhook_then_both_resolve_and_the_metrics_show_it(
        tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, group_id: str,
        servers: tuple[SmtpServer, WebhookServer]) -> None:
    smtp_server, webhook_server = servers
    metrics_address = f"127.0.0.1:{free_port()}"
    webhook_server.answer(503)  # the webhook's first try fails: retried, counted as failed, then sent
    config = evaluator_config(tmp_path, kafka_bootstrap, kafka_topic, group_id, RULES, lateness="3s",
                              extra=notify_tables(smtp_server, webhook_server.url))
    config.write_text(config.read_text().replace("[consumer]\n", f'[consumer]\nmetrics_address = "{metrics_address}"\n',
                                                 1))
    _started(config, tmp_path / "evaluator.log")
    now = time.time_ns()
    produce(kafka_bootstrap, kafka_topic, events([now + i * 10_000_000 for i in range(20)]))

    mails = poll_until(lambda: smtp_server.mails, lambda found: len(found) >= 2, deadline=90,
                       what="the firing and the resolved mail")
    assert len(mails) == 2, _subjects(mails)
    firing, resolved = mails
    assert str(firing["Subject"]).startswith("[logferry] [FIRING:1] burst-mail"), _subjects(mails)
    assert "RESOLVED" in str(resolved["Subject"]), _subjects(mails)
    assert firing["Message-ID"] != resolved["Message-ID"]
    plain = firing.get_body(("plain",))
    assert plain is not None and "payment failed" in plain.get_content()

    requests = poll_until(webhook_server.received, lambda found: len(found) >= 3, deadline=90,
                          what="the failed try, the firing and the resolved webhook")
    assert len(requests) == 3
    failed_try, hook_firing, hook_resolved = requests
    assert failed_try.headers["idempotency-key"] == hook_firing.headers["idempotency-key"], "a retry is the same one"
    assert hook_firing.body["status"] == "firing" and hook_resolved.body["status"] == "resolved"
    assert [(a["rule"], a["state"]) for a in hook_firing.body["alerts"]] == [("burst-hook", "firing")]
    assert [(a["rule"], a["state"]) for a in hook_resolved.body["alerts"]] == [("burst-hook", "resolved")]
    assert hook_firing.body["group"]["labels"] == {"rule": "burst-hook", "service": "billing"}

    alerts = fired(config)
    assert sorted((a["rule"], a["state"], a["late"]) for a in alerts) == [
        ("burst-hook", "resolved", False), ("burst-mail", "resolved", False)]
    rows = outbox(state_db(state_path(config)))
    assert sorted((r["receiver"], r["status"]) for r in rows) == [
        ("ops-hook", "sent"), ("ops-hook", "sent"), ("ops-mail", "sent"), ("ops-mail", "sent")]
    assert sorted(f"<{r['notification_id']}@example.test>" for r in rows if r["receiver"] == "ops-mail") == sorted(
        str(m["Message-ID"]) for m in mails)

    families = poll_until(lambda: scrape(metrics_address), lambda found: value(
        found, "logferry_evaluator_sent_notifications_total", receiver="ops-hook") == 2, deadline=30,
        what="the metrics to count both webhooks", transient=(OSError,))
    assert value(families, "logferry_evaluator_sent_notifications_total", receiver="ops-mail") == 2
    assert value(families, "logferry_evaluator_failed_notifications_total", receiver="ops-hook") == 1
    assert value(families, "logferry_evaluator_failed_notifications_total", receiver="ops-mail") is None
    assert value(families, "logferry_evaluator_open_alerts", state="firing") == 0
    assert value(families, "logferry_evaluator_open_alerts", state="pending") == 0
    assert value(families, "logferry_evaluator_changed_alerts_total", state="firing") == 2
    assert value(families, "logferry_evaluator_changed_alerts_total", state="resolved") == 2
    assert value(families, "logferry_evaluator_outbox_notifications") == 0
    lag = value(families, "logferry_evaluator_lag_seconds")
    assert lag is not None and lag >= 0
    assert naming_problems(families) == []
    assert not [f.name for f in families if f.name.startswith("logferry_consumer_")], "the worker's are the evaluator's"
    assert value(families, "logferry_evaluator_consumed_records_total") == 20
    assert value(families, "logferry_build_info", program="evaluator") == 1
    evaluator_names = {f.name for f in families if f.name.startswith("logferry_evaluator_")}
    assert {"logferry_evaluator_open_alerts", "logferry_evaluator_sent_notifications",
            "logferry_evaluator_failed_notifications", "logferry_evaluator_lag_seconds",
            "logferry_evaluator_suppressed_notifications"} <= evaluator_names


def test_a_silence_mutes_a_running_evaluators_alert_and_unsilence_lets_the_next_through(
        tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, group_id: str,
        servers: tuple[SmtpServer, WebhookServer]) -> None:
    smtp_server = servers[0]
    metrics_address = f"127.0.0.1:{free_port()}"
    rules = RULES.split("[[rules]]\nname = \"burst-hook\"", maxsplit=1)[0]
    tables = notify_tables(smtp_server, "http://127.0.0.1:9/unused").replace('severities = ["critical"]\n', "")
    config = evaluator_config(tmp_path, kafka_bootstrap, kafka_topic, group_id, rules, lateness="3s", extra=tables)
    config.write_text(config.read_text().replace("[consumer]\n", f'[consumer]\nmetrics_address = "{metrics_address}"\n',
                                                 1))
    silenced = run_alert("silence", "--rule", "burst-mail", "--match", "service=billing", "--for", "1h",
                         "--comment", "deploy of billing", "--config", str(config))
    assert silenced.returncode == 0, silenced.stderr
    ident = silenced.stdout.strip()
    listed = run_alert("silences", "--json", "--config", str(config))
    assert listed.returncode == 0, listed.stderr
    found = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(str(s["id"]), s["rule"], s["matchers"], s["comment"]) for s in found] == [
        (ident, "burst-mail", {"service": "billing"}, "deploy of billing")]

    _started(config, tmp_path / "evaluator.log")
    now = time.time_ns()
    produce(kafka_bootstrap, kafka_topic, events([now + i * 10_000_000 for i in range(20)], service="billing",
                                                 file="f:billing")
            + events([now + i * 10_000_000 for i in range(20)], service="search", file="f:search"))
    mails = poll_until(lambda: smtp_server.mails, lambda found: len(found) >= 2, deadline=90,
                       what="the search service's firing and resolved mails")
    poll_until(lambda: fired(config), lambda found: len(found) == 2 and all(a["state"] == "resolved" for a in found),
               deadline=60, what="both alerts to resolve")
    time.sleep(2)  # a mail of the silenced alert would be out by now
    mails = smtp_server.mails
    assert all("search" in str(m["Subject"]) for m in mails), [str(m["Subject"]) for m in mails]
    assert len(mails) == 2
    # The notifier counts in the registry the endpoint serves (the seam gives it the evaluator's metrics).
    families = scrape(metrics_address)
    assert value(families, "logferry_evaluator_suppressed_notifications_total", reason="silenced") == 1

    ended = run_alert("unsilence", ident, "--config", str(config))
    assert ended.returncode == 0 and ended.stderr == "", ended.stderr
    assert run_alert("silences", "--config", str(config)).stdout == ""
    again = run_alert("unsilence", ident, "--config", str(config))
    assert again.returncode == 1
    assert again.stderr.strip().splitlines() == [f"no silence {ident} is in force"]
    unknown = run_alert("unsilence", "12345", "--config", str(config))
    assert unknown.returncode == 1 and len(unknown.stderr.strip().splitlines()) == 1

    later = time.time_ns()
    produce(kafka_bootstrap, kafka_topic, events([later + i * 10_000_000 for i in range(20)], service="billing",
                                                 file="f:billing", start=20))
    mails = poll_until(lambda: smtp_server.mails, lambda found: any("billing" in str(m["Subject"]) for m in found),
                       deadline=90, what="the billing mail once the silence ended")
    assert any("FIRING" in str(m["Subject"]) and "billing" in str(m["Subject"]) for m in mails)
    assert later > now + NS


def test_a_late_backlog_is_mailed_late_and_a_replay_to_earliest_mails_nothing_new(
        tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, group_id: str,
        servers: tuple[SmtpServer, WebhookServer]) -> None:
    smtp_server = servers[0]
    metrics_address = f"127.0.0.1:{free_port()}"
    rules = RULES.split("[[rules]]\nname = \"burst-hook\"", maxsplit=1)[0]
    tables = notify_tables(smtp_server, "http://127.0.0.1:9/unused").replace('severities = ["critical"]\n', "")
    config = evaluator_config(tmp_path, kafka_bootstrap, kafka_topic, group_id, rules, extra=tables)
    config.write_text(config.read_text().replace("[consumer]\n", f'[consumer]\nmetrics_address = "{metrics_address}"\n',
                                                 1))
    hour_ago = (time.time_ns() - 3600 * NS) // NS * NS
    produce(kafka_bootstrap, kafka_topic, events([hour_ago + i * 10_000_000 for i in range(20)]))
    log = tmp_path / "evaluator.log"
    first = start_evaluator(config, log)
    poll_until(lambda: fired(config), lambda found: len(found) == 1 and found[0]["state"] == "resolved", deadline=90,
               what="the backlog's alert to fire and resolve")
    alert = fired(config)[0]
    assert alert["late"] is True and alert["started_at"] < hour_ago + NS, "at the events' own time, marked late"
    rows = poll_until(lambda: outbox(state_db(state_path(config))),
                      lambda found: bool(found) and all(r["status"] == "sent" for r in found), deadline=60,
                      what="its notification delivered")
    mails = smtp_server.mails
    assert len(mails) == len(rows) >= 1
    plain = mails[0].get_body(("plain",))
    assert plain is not None and "Late: evaluated from a backlog" in plain.get_content()
    first.terminate()
    assert first.wait(timeout=60) == 0

    replay = run_alert("replay", "--to-earliest", "--yes", "--config", str(config))
    assert replay.returncode == 0, replay.stderr
    start_evaluator(config, log)
    poll_until(lambda: scrape(metrics_address), lambda found: value(
        found, "logferry_evaluator_consumed_records_total") == 20, deadline=90,
        what="the evaluator to read the replayed records", transient=(OSError,))
    time.sleep(3)  # what the replayed records would notify is queued and sent by now
    assert outbox(state_db(state_path(config))) == rows, "nothing new queued"
    assert [str(m["Message-ID"]) for m in smtp_server.mails] == [str(m["Message-ID"]) for m in mails]
