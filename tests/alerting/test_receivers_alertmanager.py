"""The Alertmanager receiver against a real Prometheus Alertmanager (Debian's prometheus-alertmanager, installed by
.ci/run where it installs), started on a free loopback port: a firing alert arrives through POST /api/v2/alerts
with its labels, annotations, startsAt and generatorURL, and its resolution takes it out of the active alerts."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consumer.alerting.model import AlertState, Severity
from consumer.alerting.notify import Notifier, OutboxDelivery
from consumer.alerting.notify.delivery import connect
from tests.support.alertmanager import Alertmanager, alertmanager_binary
from tests.support.notify import T0, alert, due, observe, outbox, settings, state_db
from tests.support.polling import poll_until

START = T0 - 3600


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[Alertmanager]:
    binary = alertmanager_binary()
    if binary is None:
        pytest.skip("Debian's prometheus-alertmanager is not installed here (.ci/run installs it where it installs)")
    server = Alertmanager(binary, tmp_path / "alertmanager")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def ours(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [a for a in alerts if a["labels"].get("alertname") == "billing-errors"]


def test_an_alert_arrives_in_alertmanager_and_its_resolution_ends_it(tmp_path: Path, alertmanager: Alertmanager) -> None:
    receiver = {"type": "alertmanager", "name": "am", "url": alertmanager.url, "retry_initial": "200ms",
                "console_url": "https://logs.example.test"}
    config = settings([receiver], [{"receiver": "am", "group_by": ["service"], "group_wait": "0s",
                                    "group_interval": "1s", "repeat_interval": "1h"}])
    path = tmp_path / "state.db"
    notifier, db = Notifier(config), state_db(path)
    firing = alert("billing-errors", severity=Severity.CRITICAL, labels={"attrs.exit_code": "3"})
    observe(notifier, db, START, firing)
    assert due(notifier, db, START) == 1
    delivery = OutboxDelivery(path, config)
    assert delivery.deliver_once(connect(path)) == 1

    (found,) = poll_until(lambda: ours(alertmanager.alerts()), lambda found: len(found) == 1, deadline=30,
                          what="the alert in Alertmanager", transient=(OSError,))
    assert found["labels"] == {"alertname": "billing-errors", "rule": "billing-errors", "severity": "critical",
                               "service": "billing", "attrs_exit_code": "3"}
    assert found["annotations"]["summary"] == firing.summary
    assert found["annotations"]["first_lines"] == "ERROR payment failed"
    assert found["annotations"]["logferry_fingerprint"] == firing.key.fingerprint
    assert found["generatorURL"].startswith("https://logs.example.test/?q=service%3Abilling")
    assert found["status"]["state"] == "active"
    assert found["startsAt"].startswith(firing.fired_at and _rfc3339_seconds(firing.fired_at))

    observe(notifier, db, START + 10, alert("billing-errors", AlertState.RESOLVED, severity=Severity.CRITICAL,
                                            labels={"attrs.exit_code": "3"}))
    assert due(notifier, db, START + 20) == 1
    assert delivery.deliver_once(connect(path)) == 1
    assert [r["status"] for r in outbox(db)] == ["sent", "sent"]
    poll_until(lambda: ours(alertmanager.alerts()), lambda found: found == [], deadline=30,
               what="the resolved alert to leave Alertmanager's active alerts", transient=(OSError,))


def _rfc3339_seconds(nanoseconds: int) -> str:
    from consumer.alerting.notify.receivers.base import rfc3339

    text = rfc3339(nanoseconds)
    assert text is not None
    return text[:19]
