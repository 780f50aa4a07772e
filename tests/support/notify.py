"""Driving the notifier without a broker: alerts as the evaluator hands them over, a state file, its outbox, and
fixtures for the real servers notifications go to (SMTP, webhook)."""

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from consumer.alerting.model import Alert, AlertKey, AlertState, Severity
from consumer.alerting.notify import Notifier, NotifySettings
from consumer.alerting.notify.settings import InhibitSettings, RouteSettings
from logferry.config import load
from tests.support.smtp import SmtpServer
from tests.support.webhook import WebhookServer

T0 = float(int(time.time()))  # the tests' "now": wall time, so that the delivery thread finds rows due
NS = 1_000_000_000


def alert(rule: str, state: AlertState = AlertState.FIRING, *, severity: Severity = Severity.WARNING,
          group: tuple[tuple[str, str], ...] = (("service", "billing"),), episode: int = 1, count: int = 23,
          samples: tuple[str, ...] = ("ERROR payment failed",), late: bool = False,
          labels: dict[str, str] | None = None) -> Alert:
    started = int((T0 - 7200) * NS) + episode  # event times lie behind the wall clock
    return Alert(
        key=AlertKey(rule, group, episode), state=state, severity=severity,
        labels={"rule": rule, "severity": severity.value, **dict(group), **(labels or {})},
        summary=f"{count} matching events in 5m for {','.join(f'{k}={v}' for k, v in group)} (threshold 20).",
        started_at=started, fired_at=None if state is AlertState.PENDING else started + 5 * NS,
        resolved_at=started + 600 * NS if state is AlertState.RESOLVED else None, count=count, late=late,
        samples=samples, search=f"service:{dict(group).get('service', '')} level:error --since 2030-01-15T08:00:00Z",
        annotations={"runbook": "https://runbooks.example/billing"},
    )


def settings(receivers: list[dict[str, Any]], routes: list[dict[str, Any]] | None = None,
             inhibit: list[dict[str, Any]] | None = None) -> NotifySettings:
    """NotifySettings loaded from tables as a config file has them (durations as strings, defaults applied)."""
    table: dict[str, Any] = {"receivers": receivers, "routes": routes or [{"receiver": receivers[0]["name"]}]}
    if inhibit is not None:
        table["inhibit"] = inhibit
    return load(NotifySettings, table)


def route(**keys: Any) -> RouteSettings:
    return load(RouteSettings, keys)


def inhibition(**keys: Any) -> InhibitSettings:
    return load(InhibitSettings, keys)


def state_db(path: Path) -> sqlite3.Connection:
    """The state file as the evaluator opens it: WAL, the notifier's tables created."""
    db = sqlite3.connect(path, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    with db:
        Notifier.create_tables(db)
    return db


def observe(notifier: Notifier, db: sqlite3.Connection, now: float, *alerts: Alert) -> None:
    with db:
        notifier.observe(db, list(alerts), now)


def due(notifier: Notifier, db: sqlite3.Connection, now: float) -> int:
    with db:
        return notifier.due(db, now)


def outbox(db: sqlite3.Connection) -> list[dict[str, Any]]:
    """The outbox rows, oldest first, each with its stored notification."""
    rows = db.execute("SELECT id, notification_id, receiver, sequence, status, attempts, payload, last_error "
                      "FROM notify_outbox ORDER BY id").fetchall()
    return [{"id": r[0], "notification_id": r[1], "receiver": r[2], "sequence": r[3], "status": r[4], "attempts": r[5],
             "payload": orjson.loads(r[6]), "last_error": r[7]} for r in rows]


def shown(row: dict[str, Any]) -> list[tuple[str, str]]:
    """(rule, state) of the alerts an outbox row shows."""
    return [(a["rule"], a["state"]) for a in row["payload"]["alerts"]]


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def webhook_server() -> Iterator[WebhookServer]:
    server = WebhookServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
