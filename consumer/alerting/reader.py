"""Read-only views of the evaluator's state file: the alerts `alert list` prints and the console's Alerts panel shows
(pending, firing, and those resolved within a given time), and the silences in force.

The file is opened with SQLite's `mode=ro` URI: the connection can neither write nor change the file's journal
mode, and in WAL mode (the evaluator's) a reader never blocks the evaluator's writes. Each `read` opens the file,
reads in one short transaction (a consistent snapshot of alerts and silences) and closes it, so no read holds the
WAL back between reads. The file is the evaluator's (owner-only): the reader must run as its owner.
"""

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from consumer.alerting.model import Alert, AlertState
from consumer.alerting.store import SCHEMA_VERSION, alert_from_json, schema_version
from logferry.errors import LogferryError

CURRENT_ALERTS = ("SELECT data FROM alerts WHERE state != 'resolved' OR updated_at >= ? "
                  "ORDER BY started_at DESC")
ACTIVE_SILENCES = ("SELECT id, rule, matchers, created, until, comment FROM notify_silences "
                   "WHERE removed IS NULL AND until > ? ORDER BY id")
BUSY_TIMEOUT_S = 5.0


class StateUnavailable(LogferryError):
    """The state file cannot be read (missing, not the evaluator's, a newer schema); the message is one sentence."""


@dataclass(frozen=True)
class SilenceView:
    """A silence in force, as `alert silences` lists it."""

    id: int
    rule: str  # a rule's name, or "*"
    matchers: dict[str, str]
    created: float  # epoch s
    until: float
    comment: str

    def mutes(self, alert: Alert) -> bool:
        if self.rule not in ("*", alert.key.rule):
            return False
        return all(alert.labels.get(name) == value for name, value in self.matchers.items())


@dataclass(frozen=True)
class AlertsSnapshot:
    """The state file's alerts (open ones and those resolved within the window, newest episode first) and silences,
    read in one transaction at wall time `read_at`."""

    alerts: list[Alert]
    silences: list[SilenceView]
    read_at: float

    def counts(self) -> dict[str, int]:
        found = {state.value: 0 for state in AlertState}
        for alert in self.alerts:
            found[alert.state.value] += 1
        return found


def open_readonly(path: str) -> sqlite3.Connection:
    """A read-only connection to the state file at `path`; StateUnavailable when there is none."""
    file = Path(path)
    if not file.is_file():
        raise StateUnavailable(f"the alert state file {path} does not exist (is the evaluator running?)")
    connection = sqlite3.connect(file.resolve().as_uri() + "?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S,
                                 isolation_level=None, check_same_thread=False)
    try:
        connection.execute("PRAGMA query_only=ON")
        version = schema_version(connection)
        alerts = connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'alerts'").fetchone() is not None
    except sqlite3.DatabaseError as error:
        connection.close()
        raise StateUnavailable(f"{path} is not an alert state file: {error}") from None
    if version == 0 or not alerts:
        connection.close()
        raise StateUnavailable(f"{path} is not an alert state file (no alerts table: the index's database?)")
    if version > SCHEMA_VERSION:
        connection.close()
        raise StateUnavailable(f"the alert state file {path} has schema {version}, newer than this version's "
                               f"{SCHEMA_VERSION}")
    return connection


def current_alerts(connection: sqlite3.Connection, resolved_since: float) -> list[Alert]:
    """Pending and firing alerts, and those resolved at or after wall time `resolved_since`, newest episode first."""
    return [alert_from_json(data) for (data,) in connection.execute(CURRENT_ALERTS, (resolved_since,))]


def active_silences(connection: sqlite3.Connection, now: float) -> list[SilenceView]:
    """The silences in force at `now` (none when the notifier's tables are not in the file)."""
    if connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'notify_silences'").fetchone() is None:
        return []
    return [SilenceView(int(i), str(r), {str(k): str(v) for k, v in orjson.loads(m).items()}, float(c), float(u),
                        str(t)) for i, r, m, c, u, t in connection.execute(ACTIVE_SILENCES, (now,))]


def read_state(path: str, resolved_within: float, *, now: float | None = None) -> AlertsSnapshot:
    """The alerts and silences of the state file at `path`, in one read transaction."""
    wall = time.time() if now is None else now
    connection = open_readonly(path)
    try:
        connection.execute("BEGIN")
        try:
            alerts = current_alerts(connection, wall - resolved_within)
            silences = active_silences(connection, wall)
        finally:
            connection.execute("COMMIT")
    finally:
        connection.close()
    return AlertsSnapshot(alerts, silences, wall)
