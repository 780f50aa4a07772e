"""The notifier: what goes out for the alerts' state changes, decided inside the evaluator's transactions.

`observe(db, changes, now)` records each change (FIRING, RESOLVED; PENDING alerts are not notified, nor a RESOLVED
one that never fired) on its route and group, and schedules the group's flush: a new group waits `group_wait` for
more alerts, a group already notified waits until `group_interval` after its last notification. `due(db, now)` flushes
the groups whose time came: it takes out what is silenced or inhibited (recorded as suppressed), and writes one
outbox row for the group's firing alerts and the resolved ones not yet notified (an alert that fired and resolved
before its group went out is notified once, as "fired and resolved"), unless that is exactly what was sent last and
`repeat_interval` has not passed, or the receiver's rate limit says wait (then the flush is put off and merges what
changes meanwhile). Both only read and write the state file, so a change, its offsets and its notification commit or
vanish together.

A notification's id (Message-ID, Idempotency-Key) is a digest of its receiver, group, the fingerprints and states of
its alerts and its sequence number in the group: the same flush made again (after a crash that rolled the
transaction back) is the same notification.
"""

import hashlib
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import orjson

from consumer.alerting.model import Alert, AlertState
from consumer.alerting.notify import ratelimit, schema, silences
from consumer.alerting.notify.metrics import MetricsLike, notify_metrics
from consumer.alerting.notify.receivers.base import Notification, NotifiedAlert, alert_from_stored, stored_alert
from consumer.alerting.notify.settings import NotifySettings, RouteSettings

log = logging.getLogger(__name__)

MAX_ALERTS = 100  # alerts shown in one notification; the rest are counted (`truncated`)
FLUSH_BATCH = 500  # groups flushed by one call of `due`
KEEP_DONE = 8 * 86_400.0  # how long a finished alert, sent notification or idle group is remembered
PRUNE_EVERY = 3600.0  # seconds between two prunings of what is older than KEEP_DONE


class Suppression(StrEnum):
    """Why an alert was kept out of a notification."""

    SILENCED = "silenced"
    INHIBITED = "inhibited"


class OutboxStatus(StrEnum):
    """Where an outbox row is."""

    PENDING = "pending"
    SENT = "sent"
    GIVEN_UP = "given_up"


@dataclass(frozen=True)
class _Held:
    """One alert of a group as `notify_alerts` holds it."""

    fingerprint: str
    alert: NotifiedAlert
    notified: str | None
    suppressed: str | None


class Notifier:
    def __init__(self, settings: NotifySettings, metrics: MetricsLike = None) -> None:
        self.settings = settings
        self.metrics = notify_metrics(metrics)
        self._pruned_at = float("-inf")

    @staticmethod
    def create_tables(db: sqlite3.Connection) -> None:
        """The notifier's tables, created if missing (idempotent; in the caller's transaction)."""
        schema.create_tables(db)

    def observe(self, db: sqlite3.Connection, changes: Sequence[Alert], now: float) -> None:
        """Record `changes` and schedule their groups' notifications. No network; the caller commits."""
        if not self.settings.routes:
            return  # no notifications configured: the evaluator only records its alerts
        for alert in changes:
            if alert.state is AlertState.PENDING:
                continue
            fingerprint = alert.key.fingerprint
            known = db.execute("SELECT state, route, group_id FROM notify_alerts WHERE fingerprint = ?",
                               (fingerprint,)).fetchone()
            body = orjson.dumps(stored_alert(NotifiedAlert.of(alert))).decode()
            if alert.state is AlertState.FIRING:
                if known is not None:
                    if known[0] == AlertState.FIRING.value:
                        # Still firing (a new count): shown in the group's next notification, not a change of its own.
                        db.execute("UPDATE notify_alerts SET body = ? WHERE fingerprint = ?", (body, fingerprint))
                    continue  # resolved already: a replay of an older change
                index = self.settings.route_for(alert)
                if index is None:
                    log.warning("An alert matches no route and is not notified.", extra={"rule": alert.key.rule})
                    continue
                route = self.settings.routes[index]
                labels = route.group_labels(alert)
                group_id = _group_id(route.receiver, labels)
                was_idle = self._idle(db, index, group_id)
                db.execute(
                    "INSERT INTO notify_alerts (fingerprint, rule, route, group_id, state, severity, body, changed_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (fingerprint, alert.key.rule, index, group_id, alert.state.value, alert.severity.value, body, now),
                )
                self._touch(db, index, group_id, now, labels=labels, route=route, was_idle=was_idle)
            else:
                if known is None or known[0] == AlertState.RESOLVED.value:
                    continue  # never fired (resolved from pending), or a replay
                db.execute("UPDATE notify_alerts SET state = ?, body = ?, changed_at = ? WHERE fingerprint = ?",
                           (AlertState.RESOLVED.value, body, now, fingerprint))
                index, group_id = int(known[1]), str(known[2])
                self._touch(db, index, group_id, now, labels=(), route=self._route(index), was_idle=False)

    def due(self, db: sqlite3.Connection, now: float) -> int:
        """Flush the groups whose time came into outbox rows; the number of notifications written. No network."""
        groups = db.execute(
            "SELECT route, group_id FROM notify_groups WHERE next_flush IS NOT NULL AND next_flush <= ? "
            "ORDER BY next_flush LIMIT ?", (now, FLUSH_BATCH)
        ).fetchall()
        if not groups:
            return 0
        active = silences.list_active(db, now)
        sources = self._inhibitors(db)
        written = 0
        for index, group_id in groups:
            written += self._flush(db, int(index), str(group_id), now, active=active, sources=sources)
        if now - self._pruned_at >= PRUNE_EVERY:
            self._pruned_at = now
            self._prune(db, now)
        return written

    def _flush(self, db: sqlite3.Connection, index: int, group_id: str, now: float, *,
               active: list[silences.Silence], sources: list[NotifiedAlert]) -> int:
        route = self._route(index)
        row = db.execute("SELECT labels, receiver, last_sent, sequence, last_digest FROM notify_groups "
                         "WHERE route = ? AND group_id = ?", (index, group_id)).fetchone()
        labels_json, receiver_name, last_sent, sequence, last_digest = row
        held = self._held(db, index, group_id)
        firing: list[_Held] = []
        muted = False  # a firing alert is kept out: look again group_interval later (a silence may end)
        for item in held:
            if item.alert.state is not AlertState.FIRING:
                continue
            reason, by = self._suppression(item.alert, active, sources)
            if reason is not None:
                if item.suppressed != reason.value:
                    self.metrics.suppressed[reason.value] += 1
                    log.info("An alert is suppressed.", extra={"fingerprint": item.fingerprint, "reason": reason.value,
                                                               "by": by})
                db.execute("UPDATE notify_alerts SET suppressed = ?, suppressed_by = ? WHERE fingerprint = ?",
                           (reason.value, by, item.fingerprint))
                muted = True
                continue
            if item.suppressed is not None:
                db.execute("UPDATE notify_alerts SET suppressed = NULL, suppressed_by = NULL WHERE fingerprint = ?",
                           (item.fingerprint,))
            firing.append(item)
        resolved: list[_Held] = []
        for item in held:
            if item.alert.state is not AlertState.RESOLVED:
                continue
            if item.notified == AlertState.FIRING.value:
                if route.send_resolved:
                    resolved.append(item)
            elif item.suppressed is None and self._suppression(item.alert, active, sources)[0] is None:
                # It fired and resolved before its group was notified (a `match` rule's interval, a backlog): it
                # is notified once, as resolved, even without send_resolved, or nobody would know it fired.
                resolved.append(item)
        finished = [i for i in held if i.alert.state is AlertState.RESOLVED]
        content = firing + resolved
        still_firing = any(i.alert.state is AlertState.FIRING for i in held)
        if not content:
            self._finish(db, finished, now)
            self._schedule(db, index, group_id, now + route.group_interval if still_firing else None)
            return 0
        digest = _digest(content)
        recheck = now + route.group_interval
        if digest == last_digest and last_sent is not None and now < float(last_sent) + route.repeat_interval:
            self._finish(db, finished, now)
            repeat = float(last_sent) + route.repeat_interval
            self._schedule(db, index, group_id, min(repeat, recheck) if muted else repeat)
            return 0
        try:
            receiver = self.settings.receiver(str(receiver_name))
        except KeyError:
            receiver = self.settings.receiver(route.receiver)
        wait_until = ratelimit.take(db, receiver, now)
        if wait_until is not None:
            self.metrics.delayed[receiver.name] += 1
            log.info("A notification waits for the receiver's rate limit.",
                     extra={"receiver": receiver.name, "group": group_id, "until": wait_until})
            self._schedule(db, index, group_id, wait_until)
            return 0
        sequence = int(sequence) + 1
        group = tuple((str(n), str(v)) for n, v in orjson.loads(labels_json))
        shown = sorted(content, key=lambda i: (i.alert.state is not AlertState.FIRING, -i.alert.severity.rank,
                                               i.alert.started_at, i.fingerprint))
        notification = Notification(
            id=_notification_id(receiver.name, group_id, content, sequence), receiver=receiver.name, route=index,
            group=group, sequence=sequence, created_at=now, repeat_interval=route.repeat_interval,
            alerts=tuple(i.alert for i in shown[:MAX_ALERTS]), truncated=max(0, len(shown) - MAX_ALERTS),
            new=frozenset(i.fingerprint for i in shown[:MAX_ALERTS] if i.notified is None),
        )
        db.execute(
            "INSERT OR IGNORE INTO notify_outbox (notification_id, receiver, route, group_id, sequence, payload, "
            "created, status, next_attempt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (notification.id, receiver.name, index, group_id, sequence, orjson.dumps(notification.stored()).decode(),
             now, OutboxStatus.PENDING.value, now),
        )
        for item in firing:
            db.execute("UPDATE notify_alerts SET notified = ? WHERE fingerprint = ?",
                       (AlertState.FIRING.value, item.fingerprint))
        self._finish(db, finished, now)
        db.execute("UPDATE notify_groups SET last_sent = ?, sequence = ?, last_digest = ? WHERE route = ? AND group_id = ?",
                   (now, sequence, digest, index, group_id))
        next_repeat = now + route.repeat_interval if still_firing else None
        self._schedule(db, index, group_id, recheck if muted else next_repeat)
        log.info("A notification is queued.", extra={"notification": notification.id, "receiver": receiver.name,
                                                     "group": notification.group_text, "alerts": len(content)})
        return 1

    def _touch(self, db: sqlite3.Connection, index: int, group_id: str, now: float, *,
               labels: tuple[tuple[str, str], ...], route: RouteSettings, was_idle: bool) -> None:
        """A group changed: schedule its flush (group_wait for a new or idle group, else group_interval after its
        last notification)."""
        row = db.execute("SELECT next_flush, last_sent FROM notify_groups WHERE route = ? AND group_id = ?",
                         (index, group_id)).fetchone()
        if row is None:
            db.execute("INSERT INTO notify_groups (route, group_id, labels, receiver, created, next_flush) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       (index, group_id, orjson.dumps([list(p) for p in labels]).decode(), route.receiver, now,
                        now + route.group_wait))
            return
        next_flush, last_sent = row
        new = was_idle or last_sent is None
        wanted = now + route.group_wait if new else max(now, float(last_sent) + route.group_interval)
        if next_flush is None or wanted < float(next_flush):
            self._schedule(db, index, group_id, wanted)

    def _idle(self, db: sqlite3.Connection, index: int, group_id: str) -> bool:
        """Whether the group has no alert that fires or awaits its resolved notification."""
        row = db.execute("SELECT 1 FROM notify_alerts WHERE route = ? AND group_id = ? AND done_at IS NULL LIMIT 1",
                         (index, group_id)).fetchone()
        return row is None

    def _held(self, db: sqlite3.Connection, index: int, group_id: str) -> list[_Held]:
        rows = db.execute("SELECT fingerprint, body, notified, suppressed FROM notify_alerts "
                          "WHERE route = ? AND group_id = ? AND done_at IS NULL ORDER BY fingerprint",
                          (index, group_id)).fetchall()
        return [_Held(str(f), alert_from_stored(orjson.loads(b)), n, s) for f, b, n, s in rows]

    def _inhibitors(self, db: sqlite3.Connection) -> list[NotifiedAlert]:
        """The firing alerts that may mute others (their severity is an inhibition's source)."""
        wanted = sorted({rule.source for rule in self.settings.inhibit})
        if not wanted:
            return []
        marks = ",".join("?" for _ in wanted)
        rows = db.execute(f"SELECT body FROM notify_alerts WHERE state = ? AND severity IN ({marks})",
                          (AlertState.FIRING.value, *wanted)).fetchall()
        return [alert_from_stored(orjson.loads(body)) for (body,) in rows]

    def _suppression(self, alert: NotifiedAlert, active: list[silences.Silence],
                     sources: list[NotifiedAlert]) -> tuple[Suppression | None, str | None]:
        for silence in active:
            if silence.mutes(alert.rule, alert.labels):
                return Suppression.SILENCED, str(silence.id)
        for rule in self.settings.inhibit:
            if alert.severity.value != rule.target:
                continue
            for source in sources:
                if source.fingerprint != alert.fingerprint and source.severity.value == rule.source and all(
                    source.labels.get(name) == alert.labels.get(name) for name in rule.equal
                ):
                    return Suppression.INHIBITED, source.fingerprint
        return None, None

    def _finish(self, db: sqlite3.Connection, finished: list[_Held], now: float) -> None:
        for item in finished:
            db.execute("UPDATE notify_alerts SET done_at = ?, notified = CASE WHEN notified IS NULL THEN NULL "
                       "ELSE ? END WHERE fingerprint = ?", (now, AlertState.RESOLVED.value, item.fingerprint))

    def _schedule(self, db: sqlite3.Connection, index: int, group_id: str, when: float | None) -> None:
        db.execute("UPDATE notify_groups SET next_flush = ? WHERE route = ? AND group_id = ?", (when, index, group_id))

    def _route(self, index: int) -> RouteSettings:
        routes = self.settings.routes
        return routes[index] if 0 <= index < len(routes) else routes[-1]

    def _prune(self, db: sqlite3.Connection, now: float) -> None:
        before = now - KEEP_DONE
        db.execute("DELETE FROM notify_alerts WHERE done_at IS NOT NULL AND done_at < ?", (before,))
        db.execute("DELETE FROM notify_outbox WHERE status != ? AND finished_at < ?", (OutboxStatus.PENDING.value, before))
        db.execute("DELETE FROM notify_groups WHERE next_flush IS NULL AND COALESCE(last_sent, created) < ?", (before,))
        silences.prune(db, before)


def suppressed(db: sqlite3.Connection) -> list[tuple[str, Suppression, str]]:
    """(fingerprint, reason, silence id or muting fingerprint) of the firing alerts kept out of notifications."""
    rows = db.execute("SELECT fingerprint, suppressed, suppressed_by FROM notify_alerts "
                      "WHERE suppressed IS NOT NULL AND state = ? ORDER BY fingerprint", (AlertState.FIRING.value,))
    return [(str(f), Suppression(s), str(b)) for f, s, b in rows]


def _group_id(receiver: str, labels: tuple[tuple[str, str], ...]) -> str:
    text = "\x1f".join([receiver, *(f"{n}\x1e{v}" for n, v in labels)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def _digest(content: list[_Held]) -> str:
    text = "\x1f".join(sorted(f"{i.fingerprint}:{i.alert.state.value}" for i in content))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _notification_id(receiver: str, group_id: str, content: list[_Held], sequence: int) -> str:
    text = "\x1f".join([receiver, group_id, _digest(content), str(sequence)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
