"""What keeps alerts out of notifications, and what only delays them: inhibition (a critical alert of a group mutes
its warnings), silences (added, listed, removed; the muted alert recorded as suppressed) and the per-receiver rate
limit (a token bucket kept in the state file: excess is delayed and merged, never dropped, and a restart does not
refill it)."""

from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from consumer.alerting.model import AlertState, Severity
from consumer.alerting.notify import Notifier, NotifyMetrics, Suppression, silences, suppressed
from tests.support.notify import T0, alert, due, observe, outbox, settings, shown, state_db

HOOK = {"type": "webhook", "name": "ops", "url": "http://127.0.0.1:9/hook"}
ROUTE = {"receiver": "ops", "group_by": ["service"], "group_wait": "30s", "group_interval": "5m",
         "repeat_interval": "4h"}
INHIBIT = [{"source": "critical", "target": "warning", "equal": ["service"]}]


def test_a_critical_alert_mutes_the_warnings_of_its_group(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    notifier = Notifier(settings([HOOK], [ROUTE], INHIBIT), NotifyMetrics(registry))
    db = state_db(tmp_path / "s.db")
    warning = alert("billing-errors-warning", severity=Severity.WARNING)
    critical = alert("billing-errors-critical", severity=Severity.CRITICAL)
    other = alert("search-errors-warning", group=(("service", "search"),))
    observe(notifier, db, T0, warning, critical, other)
    assert due(notifier, db, T0 + 30) == 2
    billing, search = outbox(db)
    assert shown(billing) == [("billing-errors-critical", "firing")], "the warning is muted by its group's critical"
    assert shown(search) == [("search-errors-warning", "firing")], "another group's warning is not"
    assert suppressed(db) == [(warning.key.fingerprint, Suppression.INHIBITED, critical.key.fingerprint)]
    assert 'logferry_evaluator_suppressed_notifications_total{reason="inhibited"} 1.0' in generate_latest(registry).decode()

    # The critical resolves: the warning, still firing, is notified in the group's next notification.
    observe(notifier, db, T0 + 60, alert("billing-errors-critical", AlertState.RESOLVED, severity=Severity.CRITICAL))
    assert due(notifier, db, T0 + 330) == 1
    assert sorted(shown(outbox(db)[2])) == [("billing-errors-critical", "resolved"), ("billing-errors-warning", "firing")]
    assert suppressed(db) == []


def test_a_silenced_alert_is_recorded_suppressed_and_notified_once_the_silence_is_removed(tmp_path: Path) -> None:
    notifier, db = Notifier(settings([HOOK], [ROUTE])), state_db(tmp_path / "s.db")
    with db:
        silence = silences.add(db, "billing-errors", {"service": "billing"}, T0 + 7200, "deploy of billing 4.2", now=T0)
        silences.add(db, "billing-errors", {"service": "search"}, T0 + 7200, "another service", now=T0)
        silences.add(db, "billing-errors", {"service": "billing"}, T0 - 1, "expired already", now=T0 - 100)
    active = silences.list_active(db, T0)
    assert [(s.id, s.rule, dict(s.matchers), s.comment) for s in active] == [
        (silence, "billing-errors", {"service": "billing"}, "deploy of billing 4.2"),
        (silence + 1, "billing-errors", {"service": "search"}, "another service")]
    observe(notifier, db, T0, alert("billing-errors"), alert("billing-latency"))
    assert due(notifier, db, T0 + 30) == 1
    assert shown(outbox(db)[0]) == [("billing-latency", "firing")]
    assert suppressed(db) == [(alert("billing-errors").key.fingerprint, Suppression.SILENCED, str(silence))]

    with db:
        assert silences.remove(db, silence, now=T0 + 100) is True
        assert silences.remove(db, silence, now=T0 + 100) is False, "a removed silence cannot be removed again"
        assert silences.remove(db, 9999, now=T0 + 100) is False
        assert silences.remove(db, "not-a-number", now=T0 + 100) is False
    assert [s.id for s in silences.list_active(db, T0 + 100)] == [silence + 1]
    observe(notifier, db, T0 + 120, alert("billing-latency", count=40))  # the evaluator's next turn
    assert due(notifier, db, T0 + 330) == 1, "the group is looked at again group_interval later"
    assert sorted(shown(outbox(db)[1])) == [("billing-errors", "firing"), ("billing-latency", "firing")]
    assert suppressed(db) == []


def test_a_silence_ends_by_itself_at_its_until(tmp_path: Path) -> None:
    notifier, db = Notifier(settings([HOOK], [ROUTE])), state_db(tmp_path / "s.db")
    with db:
        ident = silences.add(db, "*", [("service", "billing")], T0 + 600, "maintenance window", now=T0)
    (silence,) = silences.list_active(db, T0)
    assert str(silence).startswith(f"{ident} rule=* service=billing until ") and str(silence).endswith(
        " (maintenance window)")
    observe(notifier, db, T0, alert("billing-errors"))
    assert due(notifier, db, T0 + 30) == 0
    assert due(notifier, db, T0 + 330) == 0, "still silenced"
    assert silences.list_active(db, T0 + 601) == []
    with db:
        assert silences.remove(db, str(ident), now=T0 + 601) is False, "it ended by itself"
    assert due(notifier, db, T0 + 630) == 1
    assert shown(outbox(db)[0]) == [("billing-errors", "firing")]


def test_the_rate_limit_delays_and_merges_and_survives_a_restart(tmp_path: Path) -> None:
    """2 notifications per hour to `ops`: five groups firing at once make two notifications now, the rest wait for
    tokens; a new notifier on the same file (a restart) does not get a full bucket back."""
    config = settings([HOOK | {"rate_limit": 2, "rate_period": "1h"}],
                      [ROUTE | {"group_wait": "0s", "repeat_interval": "24h"}])
    registry = CollectorRegistry()
    notifier, db = Notifier(config, NotifyMetrics(registry)), state_db(tmp_path / "s.db")
    services = ["a", "b", "c", "d", "e"]
    observe(notifier, db, T0, *(alert(f"errors-{s}", group=(("service", s),)) for s in services))
    assert due(notifier, db, T0) == 2
    assert 'logferry_evaluator_delayed_notifications_total{receiver="ops"} 3.0' in generate_latest(registry).decode()
    db.close()

    restarted, db = Notifier(config), state_db(tmp_path / "s.db")
    assert due(restarted, db, T0 + 60) == 0, "the bucket was kept: no token yet after a restart"
    # While group c waits, another alert of it fires: it is merged into c's one delayed notification.
    observe(restarted, db, T0 + 100, alert("latency-c", group=(("service", "c"),)))
    assert due(restarted, db, T0 + 1799) == 0
    assert due(restarted, db, T0 + 1800) == 1, "one token every 30 minutes"
    assert due(restarted, db, T0 + 3600) == 1
    assert due(restarted, db, T0 + 5400) == 1
    rows = outbox(db)
    assert len(rows) == 5
    notified = sorted(rule for row in rows for rule, _ in shown(row))
    assert notified == ["errors-a", "errors-b", "errors-c", "errors-d", "errors-e", "latency-c"], "nothing dropped"
    assert [len(shown(row)) for row in rows].count(2) == 1, "latency-c went out with errors-c"
