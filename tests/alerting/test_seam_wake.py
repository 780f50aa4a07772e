"""The seam's wake: once a transaction in which the notifier queued a notification is committed, the outbox's
delivery sends it at once instead of at its next look. Here the delivery looks only every hour, so the mail can only
arrive because it was woken; a commit that queued nothing does not wake it."""

import time
from pathlib import Path

from consumer.alerting.notify import Notifier, OutboxDelivery
from consumer.alerting.seam import WakingNotifier
from tests.support.notify import T0, alert, settings, state_db
from tests.support.polling import poll_until
from tests.support.smtp import SmtpServer

HOUR = 3600.0


class CountedWakes:
    """The delivery, counting the wakes it is given."""

    def __init__(self, delivery: OutboxDelivery) -> None:
        self.delivery = delivery
        self.wakes = 0

    def wake(self) -> None:
        self.wakes += 1
        self.delivery.wake()

    def stop(self) -> None:
        self.delivery.stop()


def test_a_commit_that_queued_a_notification_wakes_the_delivery_and_one_that_did_not_does_not(
        tmp_path: Path) -> None:
    server = SmtpServer()
    server.start()
    config = settings([{"type": "email", "name": "ops-mail", "host": server.host, "port": server.port,
                        "security": "none", "sender": "alerts@example.test", "to": ["ops@example.test"]}],
                      [{"receiver": "ops-mail", "group_wait": "0s"}])
    path = tmp_path / "state.db"
    db = state_db(path)
    delivery = OutboxDelivery(path, config, poll=HOUR)
    counted = CountedWakes(delivery)
    notifier = WakingNotifier(Notifier(config), counted)
    delivery.start()
    try:
        time.sleep(0.5)  # the delivery had its first look at an empty outbox; its next is an hour away
        with db:
            notifier.observe(db, [], T0)
            assert notifier.due(db, T0) == 0
        notifier.committed()
        assert counted.wakes == 0, "nothing was queued: no wake"
        with db:
            notifier.observe(db, [alert("billing-errors")], time.time())
            assert notifier.due(db, time.time()) == 1
        assert server.mails == []
        notifier.committed()
        assert counted.wakes == 1
        mails = poll_until(lambda: server.mails, bool, deadline=30, what="the mail, sent on the wake")
        assert len(mails) == 1 and "billing-errors" in str(mails[0]["Subject"])
        notifier.committed()
        assert counted.wakes == 1, "one wake per commit that queued"
    finally:
        assert delivery.stop(timeout=30)
        db.close()
        server.stop()
