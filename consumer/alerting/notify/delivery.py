"""The outbox's delivery: a thread with its own connection to the state file that sends each pending notification
to its receiver, records it sent, and retries what failed with exponential backoff (tenacity's wait) until
`give_up_after`, when it is recorded given up and counted (a refusal is given up at once). Nothing is deleted
unsent.

A notification is recorded sent only after its receiver accepted it, so a crash in between sends it once more on
restart, with the same id (Message-ID, Idempotency-Key) for the receiver to recognise. The rows' schedule (attempts,
next_attempt) is in the file: a restart neither forgets a retry nor hurries one.
"""

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
from tenacity import RetryCallState, Retrying, wait_exponential

from consumer.alerting.notify.metrics import MetricsLike, notify_metrics
from consumer.alerting.notify.notifier import OutboxStatus
from consumer.alerting.notify.receivers.base import DeliveryError, Notification, Receiver
from consumer.alerting.notify.receivers.registry import open_receiver
from consumer.alerting.notify.settings import NotifySettings, ReceiverSettings

log = logging.getLogger(__name__)

ROUND = 50  # outbox rows read at a time
POLL = 0.5  # seconds between looks at the outbox when `wake` is not called
MAX_ERROR = 1000  # characters of a failure's text kept in the row


class OutboxDelivery:
    """Sends the outbox of the state file at `state_path`; `start()` runs it in a thread, `stop()` ends it."""

    def __init__(self, state_path: str | Path, settings: NotifySettings, metrics: MetricsLike = None,
                 *, poll: float = POLL) -> None:
        self.state_path = Path(state_path)
        self.settings = settings
        self.metrics = notify_metrics(metrics)
        self.poll = poll
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._receivers: dict[str, Receiver] = {}

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="notify-delivery", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look at the outbox now (the evaluator committed new rows)."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> bool:
        """Ask the thread to end after the send in progress; whether it ended within `timeout` s."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("The outbox delivery did not stop in time; its send in progress is left to time out.",
                            extra={"timeout": timeout})
                return False
        self._thread = None
        return True

    def deliver_once(self, db: sqlite3.Connection, now: float | None = None) -> int:
        """One round: send the rows that are due; the number sent."""
        moment = time.time() if now is None else now
        rows = db.execute(
            "SELECT id, notification_id, receiver, payload, created, attempts FROM notify_outbox "
            "WHERE status = ? AND next_attempt <= ? ORDER BY id LIMIT ?", (OutboxStatus.PENDING.value, moment, ROUND)
        ).fetchall()
        sent = 0
        failing: set[str] = set()
        for found in rows:
            row = OutboxRow(int(found[0]), str(found[1]), str(found[2]), str(found[3]), float(found[4]), int(found[5]))
            if self._stop.is_set():
                break
            if row.receiver in failing:
                continue  # its receiver just failed: its other rows wait for their own retry
            status = self._deliver(db, row)
            if status is OutboxStatus.SENT:
                sent += 1
            elif status is OutboxStatus.PENDING:
                failing.add(row.receiver)
        self._count_depth(db)
        return sent

    def _run(self) -> None:
        db = connect(self.state_path)
        try:
            while not self._stop.is_set():
                try:
                    sent = self.deliver_once(db)
                except sqlite3.Error as error:
                    log.warning("The outbox could not be read; trying again.", extra={"error": str(error)})
                    sent = 0
                if sent == 0 or self._wake.is_set():
                    self._wake.wait(self._wait(db))
                    self._wake.clear()
        finally:
            for receiver in self._receivers.values():
                receiver.close()
            db.close()

    def _wait(self, db: sqlite3.Connection) -> float:
        try:
            row = db.execute("SELECT MIN(next_attempt) FROM notify_outbox WHERE status = ?",
                             (OutboxStatus.PENDING.value,)).fetchone()
        except sqlite3.Error:
            return self.poll
        if row is None or row[0] is None:
            return self.poll
        return max(0.0, min(self.poll, float(row[0]) - time.time()))

    def _deliver(self, db: sqlite3.Connection, row: "OutboxRow") -> OutboxStatus:
        """Send `row`; where it is now (SENT, PENDING for a retry, GIVEN_UP)."""
        try:
            settings = self.settings.receiver(row.receiver)
        except KeyError:
            self._give_up(db, row, attempts=row.attempts, reason=f"the receiver {row.receiver} is no longer in the config")
            return OutboxStatus.GIVEN_UP
        try:
            self._receiver(settings).send(Notification.from_stored(orjson.loads(row.payload)))
        except DeliveryError as error:
            return self._failed(db, row, settings, error)
        except Exception as error:  # a fault of ours: counted and retried like an outage, never the thread's end
            log.exception("Sending a notification failed unexpectedly.", extra={"notification": row.notification_id})
            return self._failed(db, row, settings, DeliveryError(f"unexpected {type(error).__name__}: {error}",
                                                                 retriable=True))
        db.execute("UPDATE notify_outbox SET status = ?, attempts = ?, finished_at = ?, last_error = NULL WHERE id = ?",
                   (OutboxStatus.SENT.value, row.attempts + 1, time.time(), row.id))
        self.metrics.sent[row.receiver] += 1
        log.info("A notification was delivered.", extra={"notification": row.notification_id, "receiver": row.receiver,
                                                         "attempts": row.attempts + 1})
        return OutboxStatus.SENT

    def _failed(self, db: sqlite3.Connection, row: "OutboxRow", settings: ReceiverSettings,
                error: DeliveryError) -> OutboxStatus:
        self.metrics.failed[settings.name] += 1
        attempts = row.attempts + 1
        now = time.time()
        deadline = row.created + settings.give_up_after
        if not error.retriable or now >= deadline:
            reason = str(error) if not error.retriable else f"not accepted within give_up_after: {error}"
            self._give_up(db, row, attempts=attempts, reason=reason)
            return OutboxStatus.GIVEN_UP
        retry = min(now + backoff(settings, attempts), deadline)
        db.execute("UPDATE notify_outbox SET attempts = ?, next_attempt = ?, last_error = ? WHERE id = ?",
                   (attempts, retry, str(error)[:MAX_ERROR], row.id))
        # The receiver is down: its other rows wait as long (untried), so they neither hammer it nor fill the rounds
        # other receivers' rows need.
        db.execute("UPDATE notify_outbox SET next_attempt = ? WHERE receiver = ? AND status = ? AND next_attempt < ?",
                   (retry, row.receiver, OutboxStatus.PENDING.value, retry))
        log.warning("A notification was not delivered; it will be tried again.",
                    extra={"notification": row.notification_id, "receiver": settings.name, "attempts": attempts,
                           "retry_in": round(retry - now, 3), "error": str(error)})
        return OutboxStatus.PENDING

    def _give_up(self, db: sqlite3.Connection, row: "OutboxRow", *, attempts: int, reason: str) -> None:
        db.execute("UPDATE notify_outbox SET status = ?, attempts = ?, finished_at = ?, last_error = ? WHERE id = ?",
                   (OutboxStatus.GIVEN_UP.value, attempts, time.time(), reason[:MAX_ERROR], row.id))
        self.metrics.given_up[row.receiver] += 1
        log.error("A notification was given up.", extra={"notification": row.notification_id, "receiver": row.receiver,
                                                         "attempts": attempts, "error": reason})

    def _receiver(self, settings: ReceiverSettings) -> Receiver:
        receiver = self._receivers.get(settings.name)
        if receiver is None:
            receiver = self._receivers[settings.name] = open_receiver(settings)
        return receiver

    def _count_depth(self, db: sqlite3.Connection) -> None:
        (depth,) = db.execute("SELECT COUNT(*) FROM notify_outbox WHERE status = ?", (OutboxStatus.PENDING.value,)).fetchone()
        self.metrics.outbox_depth = int(depth)


@dataclass(frozen=True)
class OutboxRow:
    """One pending row of the outbox, as read."""

    id: int
    notification_id: str
    receiver: str
    payload: str
    created: float
    attempts: int


def backoff(settings: ReceiverSettings, attempts: int) -> float:
    """Seconds before try number `attempts + 1`: retry_initial doubled per failed try, at most retry_max."""
    wait = wait_exponential(multiplier=settings.retry_initial, max=settings.retry_max)
    state = RetryCallState(retry_object=Retrying(), fn=None, args=(), kwargs={})
    state.attempt_number = max(1, attempts)
    return float(wait(state))


def connect(path: Path) -> sqlite3.Connection:
    """A connection of its own to the state file, each statement its own transaction, waiting out the evaluator's."""
    db = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA busy_timeout = 30000")
    return db
