"""The delivery thread shares the state file with the evaluator, whose transactions hold its write lock: a long
transaction delays the outbox's record (the thread waits it out), it does not end the thread or lose the row."""

import sqlite3
from pathlib import Path

from consumer.alerting.notify import Notifier, NotifyMetrics, OutboxDelivery
from tests.support.notify import T0, alert, due, observe, outbox, settings, state_db, webhook_server
from tests.support.polling import poll_until
from tests.support.webhook import WebhookServer

__all__ = ["webhook_server"]


def test_a_long_evaluator_transaction_delays_the_record_and_loses_nothing(tmp_path: Path,
                                                                         webhook_server: WebhookServer) -> None:
    receiver = {"type": "webhook", "name": "ops", "url": webhook_server.url}
    config = settings([receiver], [{"receiver": "ops", "group_by": ["service"], "group_wait": "0s"}])
    path = tmp_path / "state.db"
    notifier, db = Notifier(config), state_db(path)
    observe(notifier, db, T0 - 60, alert("billing-errors"))
    assert due(notifier, db, T0 - 60) == 1

    evaluator = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    evaluator.execute("BEGIN IMMEDIATE")  # the evaluator's batch transaction, holding the write lock
    delivery = OutboxDelivery(path, config, NotifyMetrics())
    delivery.start()
    try:
        poll_until(webhook_server.received, lambda got: len(got) == 1, deadline=30, what="the POST")
        assert outbox(db)[0]["status"] == "pending", "not recorded while the evaluator holds the lock"
        # The evaluator goes on in its transaction (a new alert, its notification), then commits; the delivery's
        # record of the first follows, and the second is sent.
        notifier.observe(evaluator, [alert("search-errors", group=(("service", "search"),))], T0 - 30)
        assert notifier.due(evaluator, T0 - 30) == 1
        evaluator.execute("COMMIT")
        rows = poll_until(lambda: outbox(db), lambda rows: [r["status"] for r in rows] == ["sent", "sent"],
                          deadline=60, what="both notifications recorded sent")
        assert len(webhook_server.received()) == 2
        assert {r.headers["idempotency-key"] for r in webhook_server.received()} == {r["notification_id"] for r in rows}
    finally:
        assert delivery.stop(timeout=60)
        evaluator.close()
