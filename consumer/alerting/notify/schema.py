"""The notifier's tables in the evaluator's state file, all prefixed `notify_`, versioned in `notify_meta`.

    notify_alerts    the last state of every alert the notifier was handed, its route and group, what it last
                     notified of it, and why it is suppressed (silenced, inhibited) if it is
    notify_groups    one row per (route, group): when it is next flushed, when it was last notified, its sequence
    notify_outbox    notifications to deliver, with their attempts; kept as sent or given up (pruned after a week)
    notify_buckets   each receiver's rate-limit token bucket
    notify_silences  silences, active until their `until`

`create_tables` is idempotent and runs in the caller's transaction; a file of a newer version is refused.
"""

import sqlite3

from logferry.errors import LogferryError

VERSION = 1

DDL = """
CREATE TABLE IF NOT EXISTS notify_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS notify_alerts (
    fingerprint TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    route INTEGER NOT NULL,
    group_id TEXT NOT NULL,
    state TEXT NOT NULL,
    severity TEXT NOT NULL,
    body TEXT NOT NULL,
    changed_at REAL NOT NULL,
    notified TEXT,
    suppressed TEXT,
    suppressed_by TEXT,
    done_at REAL
);
CREATE INDEX IF NOT EXISTS notify_alerts_by_group ON notify_alerts (route, group_id);
CREATE INDEX IF NOT EXISTS notify_alerts_by_state ON notify_alerts (state, severity);
CREATE TABLE IF NOT EXISTS notify_groups (
    route INTEGER NOT NULL,
    group_id TEXT NOT NULL,
    labels TEXT NOT NULL,
    receiver TEXT NOT NULL,
    created REAL NOT NULL,
    next_flush REAL,
    last_sent REAL,
    sequence INTEGER NOT NULL DEFAULT 0,
    last_digest TEXT,
    PRIMARY KEY (route, group_id)
);
CREATE INDEX IF NOT EXISTS notify_groups_due ON notify_groups (next_flush);
CREATE TABLE IF NOT EXISTS notify_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    notification_id TEXT NOT NULL UNIQUE,
    receiver TEXT NOT NULL,
    route INTEGER NOT NULL,
    group_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    payload TEXT NOT NULL,
    created REAL NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    last_error TEXT,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS notify_outbox_pending ON notify_outbox (status, next_attempt);
CREATE TABLE IF NOT EXISTS notify_buckets (receiver TEXT PRIMARY KEY, tokens REAL NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS notify_silences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule TEXT NOT NULL,
    matchers TEXT NOT NULL,
    created REAL NOT NULL,
    until REAL NOT NULL,
    comment TEXT NOT NULL,
    removed REAL
);
"""


class NotifySchemaError(LogferryError):
    """The state file's notifier tables are of a version this program does not know."""


def create_tables(db: sqlite3.Connection) -> None:
    row = None
    exists = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'notify_meta'").fetchone()
    if exists:
        row = db.execute("SELECT value FROM notify_meta WHERE key = 'schema_version'").fetchone()
    if row is not None and int(row[0]) > VERSION:
        raise NotifySchemaError(
            f"the state file's notification tables are of version {row[0]}, newer than this program's {VERSION}"
        )
    for statement in DDL.split(";"):
        if statement.strip():
            db.execute(statement)
    db.execute("INSERT OR IGNORE INTO notify_meta (key, value) VALUES ('schema_version', ?)", (str(VERSION),))
