"""Grouping and timing of notifications, driven with Alert objects and the notifier's `now` (no broker): group_wait
merges a route's alerts into one notification, group_interval spaces a group's changes, repeat_interval repeats a
group that still fires, resolved alerts are notified once, and the same changes observed again send nothing new.
The outbox rows are delivered to a real HTTP server at the end of each test that needs an arrival."""

from pathlib import Path

from consumer.alerting.model import AlertState, Severity
from consumer.alerting.notify import Notifier
from consumer.alerting.notify.delivery import OutboxDelivery, connect
from tests.support.notify import T0, alert, due, observe, outbox, settings, shown, state_db, webhook_server
from tests.support.webhook import WebhookServer

__all__ = ["webhook_server"]


def hook(url: str) -> dict[str, object]:
    return {"type": "webhook", "name": "ops", "url": url, "retry_initial": "100ms"}


def timed_route(**extra: object) -> dict[str, object]:
    return {"receiver": "ops", "group_by": ["service"], "group_wait": "30s", "group_interval": "5m",
            "repeat_interval": "4h", **extra}


def test_group_wait_merges_the_alerts_of_a_group_into_one_notification(tmp_path: Path,
                                                                     webhook_server: WebhookServer) -> None:
    config = settings([hook(webhook_server.url)], [timed_route()])
    notifier, db = Notifier(config), state_db(tmp_path / "state.db")
    start = T0 - 60  # the rows are due when the delivery looks (it reads the wall clock)
    observe(notifier, db, start, alert("billing-errors"))
    observe(notifier, db, start + 10, alert("billing-latency"))
    observe(notifier, db, start + 12, alert("search-errors", group=(("service", "search"),)))
    assert due(notifier, db, start + 29) == 0, "nothing goes out before group_wait"
    assert due(notifier, db, start + 30) == 1, "the billing group waited 30 s from its first alert"
    assert due(notifier, db, start + 42) == 1, "the search group is a group of its own"
    rows = outbox(db)
    assert sorted(shown(rows[0])) == [("billing-errors", "firing"), ("billing-latency", "firing")]
    assert shown(rows[1]) == [("search-errors", "firing")]
    assert rows[0]["payload"]["group"] == [["service", "billing"]]

    delivery = OutboxDelivery(tmp_path / "state.db", config)
    sent = delivery.deliver_once(connect(tmp_path / "state.db"))
    assert sent == 2
    received = webhook_server.received()
    assert [r.body["group"]["key"] for r in received] == ["service=billing", "service=search"]
    assert sorted(a["rule"] for a in received[0].body["alerts"]) == ["billing-errors", "billing-latency"]
    assert received[0].headers["idempotency-key"] == rows[0]["notification_id"]
    assert [r["status"] for r in outbox(db)] == ["sent", "sent"]


def test_group_interval_spaces_the_changes_of_a_notified_group(tmp_path: Path) -> None:
    notifier, db = Notifier(settings([hook("http://127.0.0.1:9/hook")], [timed_route()])), state_db(tmp_path / "s.db")
    observe(notifier, db, T0, alert("billing-errors"))
    assert due(notifier, db, T0 + 30) == 1
    observe(notifier, db, T0 + 40, alert("billing-latency"))
    assert due(notifier, db, T0 + 100) == 0, "a change of a notified group waits for group_interval"
    observe(notifier, db, T0 + 200, alert("billing-timeouts"))
    assert due(notifier, db, T0 + 329) == 0
    assert due(notifier, db, T0 + 330) == 1, "group_interval after the first notification"
    rows = outbox(db)
    assert len(rows) == 2
    assert sorted(shown(rows[1])) == [("billing-errors", "firing"), ("billing-latency", "firing"),
                                      ("billing-timeouts", "firing")]
    assert rows[1]["sequence"] == 2


def test_repeat_interval_repeats_a_group_that_still_fires_and_nothing_before(tmp_path: Path) -> None:
    notifier, db = Notifier(settings([hook("http://127.0.0.1:9/hook")], [timed_route()])), state_db(tmp_path / "s.db")
    observe(notifier, db, T0, alert("billing-errors"))
    assert due(notifier, db, T0 + 30) == 1
    for minute in range(1, 240, 7):
        assert due(notifier, db, T0 + 30 + minute * 60) == 0, f"no repeat {minute} min after"
    # The evaluator hands over new counts of the firing alert: not a change that notifies.
    observe(notifier, db, T0 + 3600, alert("billing-errors", count=99))
    assert due(notifier, db, T0 + 30 + 4 * 3600 - 1) == 0
    assert due(notifier, db, T0 + 30 + 4 * 3600) == 1
    first, repeat = outbox(db)
    assert shown(first) == shown(repeat) == [("billing-errors", "firing")]
    assert repeat["payload"]["alerts"][0]["count"] == 99, "a repeat shows the latest count"
    assert first["notification_id"] != repeat["notification_id"], "a deliberate repeat is a new notification"


def test_resolved_alerts_are_notified_once_and_the_group_then_falls_silent(tmp_path: Path) -> None:
    notifier, db = Notifier(settings([hook("http://127.0.0.1:9/hook")], [timed_route()])), state_db(tmp_path / "s.db")
    observe(notifier, db, T0, alert("billing-errors"), alert("billing-latency"))
    assert due(notifier, db, T0 + 30) == 1
    observe(notifier, db, T0 + 60, alert("billing-errors", AlertState.RESOLVED))
    assert due(notifier, db, T0 + 330) == 1
    observe(notifier, db, T0 + 400, alert("billing-latency", AlertState.RESOLVED))
    assert due(notifier, db, T0 + 630) == 1
    for hours in (1, 5, 24):
        assert due(notifier, db, T0 + 630 + hours * 3600) == 0, "a resolved group is not repeated"
    rows = outbox(db)
    assert sorted(shown(rows[1])) == [("billing-errors", "resolved"), ("billing-latency", "firing")]
    assert rows[1]["payload"]["alerts"][0]["state"] == "firing", "firing alerts come first"
    assert shown(rows[2]) == [("billing-latency", "resolved")]
    assert rows[2]["payload"]["alerts"][0]["resolved_at"] is not None


def test_send_resolved_false_keeps_resolutions_quiet(tmp_path: Path) -> None:
    config = settings([hook("http://127.0.0.1:9/hook")], [timed_route(send_resolved=False)])
    notifier, db = Notifier(config), state_db(tmp_path / "s.db")
    observe(notifier, db, T0, alert("billing-errors"))
    assert due(notifier, db, T0 + 30) == 1
    observe(notifier, db, T0 + 60, alert("billing-errors", AlertState.RESOLVED))
    assert due(notifier, db, T0 + 330) == 0
    assert due(notifier, db, T0 + 5 * 3600) == 0
    assert len(outbox(db)) == 1


def test_an_alert_that_fired_and_resolved_before_its_group_went_out_is_notified_once(tmp_path: Path) -> None:
    """A `match` rule's alert (or one of a backlog) may fire and resolve within group_wait: it is notified once, as
    resolved, also where resolutions are not notified; one that never fired is not."""
    config = settings([hook("http://127.0.0.1:9/hook")], [timed_route(send_resolved=False)])
    notifier, db = Notifier(config), state_db(tmp_path / "s.db")
    observe(notifier, db, T0, alert("billing-errors", AlertState.PENDING))
    observe(notifier, db, T0 + 5, alert("billing-errors"), alert("job-failed"))
    observe(notifier, db, T0 + 10, alert("billing-errors", AlertState.RESOLVED), alert("job-failed", AlertState.RESOLVED))
    observe(notifier, db, T0 + 12, alert("never-fired", AlertState.PENDING), alert("never-fired", AlertState.RESOLVED))
    assert due(notifier, db, T0 + 35) == 1
    (row,) = outbox(db)
    assert sorted(shown(row)) == [("billing-errors", "resolved"), ("job-failed", "resolved")]
    assert row["payload"]["alerts"][0]["fired_at"] is not None
    assert due(notifier, db, T0 + 5 * 3600) == 0, "once"
    assert len(outbox(db)) == 1


def test_a_silenced_alert_that_fired_and_resolved_unseen_stays_quiet(tmp_path: Path) -> None:
    from consumer.alerting.notify import silences

    notifier, db = Notifier(settings([hook("http://127.0.0.1:9/hook")], [timed_route()])), state_db(tmp_path / "s.db")
    with db:
        silences.add(db, "job-failed", {}, T0 + 3600, "known breakage", now=T0)
    observe(notifier, db, T0, alert("job-failed"))
    observe(notifier, db, T0 + 10, alert("job-failed", AlertState.RESOLVED))
    assert due(notifier, db, T0 + 30) == 0
    assert due(notifier, db, T0 + 5 * 3600) == 0
    assert outbox(db) == []


def test_the_same_changes_observed_again_send_nothing_new(tmp_path: Path) -> None:
    """A replay of the evaluator's group hands over changes that were notified already."""
    notifier, db = Notifier(settings([hook("http://127.0.0.1:9/hook")], [timed_route()])), state_db(tmp_path / "s.db")
    changes = [alert("billing-errors"), alert("billing-errors", AlertState.RESOLVED)]
    observe(notifier, db, T0, changes[0])
    assert due(notifier, db, T0 + 30) == 1
    observe(notifier, db, T0 + 60, changes[1])
    assert due(notifier, db, T0 + 330) == 1
    for replay in range(3):
        observe(notifier, db, T0 + 1000 + replay, *changes)
        assert due(notifier, db, T0 + 2000 + replay * 1000) == 0
    assert len(outbox(db)) == 2


def test_a_flush_rolled_back_and_made_again_is_the_same_notification(tmp_path: Path) -> None:
    """The evaluator crashed after `due` but before its commit: the flush made again has the same id."""
    notifier, db = Notifier(settings([hook("http://127.0.0.1:9/hook")], [timed_route()])), state_db(tmp_path / "s.db")
    observe(notifier, db, T0, alert("billing-errors"), alert("billing-latency"))
    assert notifier.due(db, T0 + 30) == 1
    lost = outbox(db)[0]["notification_id"]
    db.rollback()
    assert outbox(db) == []
    assert due(notifier, db, T0 + 31) == 1
    assert outbox(db)[0]["notification_id"] == lost


def test_routes_send_by_severity_and_labels_first_match_wins(tmp_path: Path) -> None:
    receivers = [hook("http://127.0.0.1:9/a") | {"name": "pager"}, hook("http://127.0.0.1:9/b") | {"name": "team"},
                 hook("http://127.0.0.1:9/c") | {"name": "default"}]
    routes = [{"receiver": "pager", "severities": ["critical"], "group_wait": "0s"},
              {"receiver": "team", "labels": {"team": "payments"}, "group_wait": "0s"},
              {"receiver": "default", "group_wait": "0s"}]
    notifier, db = Notifier(settings(receivers, routes)), state_db(tmp_path / "s.db")
    observe(notifier, db, T0,
            alert("a-critical", severity=Severity.CRITICAL, labels={"team": "payments"}),
            alert("b-payments", labels={"team": "payments"}),
            alert("c-other"))
    assert due(notifier, db, T0) == 3
    assert {shown(r)[0][0]: r["receiver"] for r in outbox(db)} == {
        "a-critical": "pager", "b-payments": "team", "c-other": "default"}


def test_group_by_dots_makes_every_alert_a_group_and_empty_group_by_one_group(tmp_path: Path) -> None:
    receivers = [hook("http://127.0.0.1:9/a") | {"name": "each"}, hook("http://127.0.0.1:9/b") | {"name": "all"}]
    routes = [{"receiver": "each", "severities": ["critical"], "group_by": ["..."], "group_wait": "0s"},
              {"receiver": "all", "group_by": [], "group_wait": "0s"}]
    notifier, db = Notifier(settings(receivers, routes)), state_db(tmp_path / "s.db")
    observe(notifier, db, T0,
            *(alert(f"crit-{n}", severity=Severity.CRITICAL, group=(("service", f"s{n}"),)) for n in range(3)),
            *(alert(f"warn-{n}", group=(("service", f"s{n}"),)) for n in range(3)))
    assert due(notifier, db, T0) == 4
    rows = outbox(db)
    assert sorted(len(shown(r)) for r in rows if r["receiver"] == "each") == [1, 1, 1]
    (everything,) = [r for r in rows if r["receiver"] == "all"]
    assert sorted(shown(everything)) == [("warn-0", "firing"), ("warn-1", "firing"), ("warn-2", "firing")]


def test_what_is_finished_is_forgotten_after_a_week_and_not_before(tmp_path: Path, webhook_server: WebhookServer) -> None:
    config = settings([hook(webhook_server.url)], [timed_route(group_wait="0s")])
    notifier, db = Notifier(config), state_db(tmp_path / "s.db")
    start = T0 - 600  # both notifications are due when the delivery looks
    changes = [alert("billing-errors"), alert("billing-errors", AlertState.RESOLVED)]
    observe(notifier, db, start, changes[0])
    assert due(notifier, db, start) == 1
    observe(notifier, db, start + 1, changes[1])
    assert due(notifier, db, start + 300) == 1
    assert OutboxDelivery(tmp_path / "s.db", config).deliver_once(connect(tmp_path / "s.db")) == 2

    def counts() -> tuple[int, ...]:
        return tuple(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                     for table in ("notify_alerts", "notify_groups", "notify_outbox"))

    observe(notifier, db, start + 7 * 86_400, *changes)  # a replay within the week: recognised
    assert due(notifier, db, start + 7 * 86_400) == 0
    assert counts() == (1, 1, 2)
    later = Notifier(config)  # a restart, then a turn nine days on
    observe(later, db, start + 9 * 86_400, alert("search-errors", group=(("service", "search"),)))
    assert due(later, db, start + 9 * 86_400) == 1
    assert counts() == (1, 1, 1), "only the new alert, its group and its notification are left"
