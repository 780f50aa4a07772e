"""The evaluator's state database: one SQLite file (WAL, owner-only), schema versioned, migrated in one transaction.

Tables, schema 1:
- `meta`: schema_version.
- `offsets`: (topic, partition) -> next offset, the SQLite sink's layout (so `replay` and catch-up read and reset
  it as they do the index's), written in the same transaction as everything below.
- `evaluated`: per rule and partition, the offset below which the rule has counted every event. It never moves
  back: after a replay the events a rule already counted are read again but not counted again (a rule added since
  counts them), so a replay re-evaluates without firing or notifying anything twice.
- `groups`: per rule and group, the window's bucket counts, last seen times, samples, and links to open alerts
  (consumer.alerting.engine.GroupState as JSON). Bounded: buckets older than the rule can use are pruned, groups
  beyond max_groups forgotten.
- `rule_state`: per rule, what it keeps across groups (absence: since when it is known, the last deadline checked),
  and a signature of its settings: a rule whose window or kind changed starts its windows afresh.
- `alerts`: every alert by its fingerprint (rule, group, episode): its state and the whole Alert as JSON. Open
  alerts are loaded at start; resolved ones stay `resolved_retention` (their identity is what makes a repeat a
  no-op), then are deleted.
The notifier adds its own tables (outbox, silences...) in the same migration transaction.

Migrations: MIGRATIONS[n] takes a file from schema n-1 to n; `create_schema` applies those above the file's version.
"""

import hashlib
import sqlite3
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

import orjson

from consumer.alerting.compiled import Group, Rule
from consumer.alerting.engine import Engine, GroupState
from consumer.alerting.model import Alert, AlertKey, AlertState, Severity
from consumer.alerting.seam import create_tables
from consumer.records import TopicPartitionKey
from consumer.sinks.sqlite import UPSERT_OFFSETS
from consumer.sinks.sqlite_db import connect

SCHEMA_VERSION = 1

V1 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS offsets (
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (topic, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS evaluated (
    rule TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
    PRIMARY KEY (rule, topic, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS groups (
    rule TEXT NOT NULL, grp TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (rule, grp)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rule_state (rule TEXT PRIMARY KEY, signature TEXT NOT NULL, data BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alerts (
    fingerprint TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    grp TEXT NOT NULL,
    episode INTEGER NOT NULL,
    state TEXT NOT NULL,
    severity TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    fired_at INTEGER,
    resolved_at INTEGER,
    late INTEGER NOT NULL,
    data BLOB NOT NULL,
    updated_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS alerts_by_state ON alerts (state, updated_at);
"""


def _statements(script: str) -> list[str]:
    return [part.strip() for part in script.split(";") if part.strip()]


def _v1(connection: sqlite3.Connection) -> None:
    for statement in _statements(V1):
        connection.execute(statement)


MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _v1}


def schema_version(connection: sqlite3.Connection) -> int:
    if connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone() is None:
        return 0
    row = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return 0 if row is None else int(row[0])


def open_state(path: str, *, create: bool = True) -> sqlite3.Connection:
    """The state database at `path`, created or migrated to SCHEMA_VERSION (with the notifier's tables)."""
    connection = connect(path, create=create)
    connection.execute("BEGIN IMMEDIATE")
    try:
        version = schema_version(connection)
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(f"the state database {path} has schema {version}, newer than this version's "
                                        f"{SCHEMA_VERSION}")
        for target in range(version + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[target](connection)
        create_tables(connection)
        connection.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE "
                           "SET value = excluded.value", (str(SCHEMA_VERSION),))
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        connection.close()
        raise
    return connection


# -- alerts as JSON ---------------------------------------------------------------------------------------------------


def alert_json(alert: Alert) -> bytes:
    key = alert.key
    return orjson.dumps({
        "rule": key.rule, "group": [list(pair) for pair in key.group], "episode": key.episode,
        "state": alert.state.value, "severity": alert.severity.value, "labels": dict(alert.labels),
        "summary": alert.summary, "started_at": alert.started_at, "fired_at": alert.fired_at,
        "resolved_at": alert.resolved_at, "count": alert.count, "late": alert.late, "samples": list(alert.samples),
        "search": alert.search, "annotations": dict(alert.annotations),
    })


def alert_from_json(data: bytes | str) -> Alert:
    found = orjson.loads(data)
    key = AlertKey(found["rule"], tuple((str(a), str(b)) for a, b in found["group"]), int(found["episode"]))
    return Alert(key=key, state=AlertState(found["state"]), severity=Severity(found["severity"]),
                 labels=found["labels"], summary=found["summary"], started_at=found["started_at"],
                 fired_at=found["fired_at"], resolved_at=found["resolved_at"], count=found["count"],
                 late=found["late"], samples=tuple(found["samples"]), search=found["search"],
                 annotations=found["annotations"])


@lru_cache(maxsize=65_536)  # the groups written are mostly the same from one batch to the next
def group_text(group: Group) -> str:
    return orjson.dumps([list(pair) for pair in group]).decode()


def _group_of(text: str) -> Group:
    return tuple((str(a), str(b)) for a, b in orjson.loads(text))


def signature(rule: Rule) -> str:
    """What must stay the same for a rule's stored windows to remain valid."""
    text = f"{rule.kind}|{rule.step}|{rule.buckets}|{rule.group_by}|{rule.matcher.text}|" \
           f"{rule.total.text if rule.total else ''}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# -- the engine's state ------------------------------------------------------------------------------------------


def load_engine(connection: sqlite3.Connection, engine: Engine) -> None:
    """Fill `engine` (fresh) with the stored state of its rules."""
    names = {rule.name: rule for rule in engine.rules}
    newest = connection.execute("SELECT value FROM meta WHERE key = 'newest_event'").fetchone()
    if newest is not None:
        engine.newest_event = int(newest[0])
    open_alerts: dict[str, Alert] = {}
    for fingerprint, data in connection.execute("SELECT fingerprint, data FROM alerts WHERE state != 'resolved'"):
        alert = alert_from_json(data)
        if alert.key.rule in names:
            open_alerts[str(fingerprint)] = alert
    for rule in engine.rules:
        rule_state = engine.states[rule.index]
        row = connection.execute("SELECT signature, data FROM rule_state WHERE rule = ?", (rule.name,)).fetchone()
        if row is not None and row[0] == signature(rule):
            data = orjson.loads(row[1])
            rule_state.known_since, rule_state.last_deadline = data.get("known_since"), data.get("last_deadline")
            for grp, blob in connection.execute("SELECT grp, data FROM groups WHERE rule = ? ", (rule.name,)):
                state = GroupState.from_json(orjson.loads(blob), open_alerts)
                group = _group_of(grp)
                rule_state.groups[group] = state
                if state.active is not None or state.intervals:
                    rule_state.open.add(group)
            order = sorted(rule_state.groups.items(), key=lambda item: item[1].last_seen)
            rule_state.groups.clear()
            rule_state.groups.update(order)
            rule_state.dirty = False


def save_engine(connection: sqlite3.Connection, engine: Engine, wall: float) -> None:
    """Write what changed in `engine` since the last save, inside the caller's transaction."""
    connection.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('newest_event', ?)", (str(engine.newest_event),))
    for rule in engine.rules:
        rule_state = engine.states[rule.index]
        if rule_state.forgotten:
            connection.executemany("DELETE FROM groups WHERE rule = ? AND grp = ?",
                                   [(rule.name, group_text(g)) for g in rule_state.forgotten])
        dirty = [(group, state) for group, state in rule_state.groups.items() if state.dirty]
        if dirty:
            connection.executemany(
                "INSERT INTO groups (rule, grp, data) VALUES (?, ?, ?) ON CONFLICT (rule, grp) DO UPDATE "
                "SET data = excluded.data",
                [(rule.name, group_text(group), orjson.dumps(state.to_json())) for group, state in dirty])
        if rule_state.dirty or dirty or rule_state.forgotten:
            data = {"known_since": rule_state.known_since, "last_deadline": rule_state.last_deadline}
            connection.execute(
                "INSERT INTO rule_state (rule, signature, data) VALUES (?, ?, ?) ON CONFLICT (rule) DO UPDATE "
                "SET signature = excluded.signature, data = excluded.data", (rule.name, signature(rule), orjson.dumps(data)))
    if engine.changed:
        connection.executemany(
            "INSERT INTO alerts (fingerprint, rule, grp, episode, state, severity, started_at, fired_at, resolved_at, "
            "late, data, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (fingerprint) DO UPDATE "
            "SET state = excluded.state, fired_at = excluded.fired_at, resolved_at = excluded.resolved_at, "
            "late = excluded.late, data = excluded.data, updated_at = excluded.updated_at",
            [(a.key.fingerprint, a.key.rule, a.key.group_text, a.key.episode, a.state.value, a.severity.value,
              a.started_at, a.fired_at, a.resolved_at, int(a.late), alert_json(a), wall) for a in engine.changed.values()])


def saved(engine: Engine) -> None:
    """The save committed: nothing is dirty any more."""
    for rule_state in engine.states:
        rule_state.dirty = False
        rule_state.forgotten.clear()
        for state in rule_state.groups.values():
            state.dirty = False
    engine.changed.clear()


def known_alerts(connection: sqlite3.Connection, fingerprints: Iterable[str]) -> set[str]:
    """Which of `fingerprints` the database already records (any state)."""
    found: set[str] = set()
    for fingerprint in fingerprints:
        if connection.execute("SELECT 1 FROM alerts WHERE fingerprint = ?", (fingerprint,)).fetchone():
            found.add(fingerprint)
    return found


def evaluated(connection: sqlite3.Connection) -> dict[str, dict[TopicPartitionKey, int]]:
    """Per rule, per partition: the offset below which the rule counted everything."""
    found: dict[str, dict[TopicPartitionKey, int]] = {}
    for rule, topic, partition, offset in connection.execute("SELECT rule, topic, partition, next_offset FROM evaluated"):
        found.setdefault(str(rule), {})[(str(topic), int(partition))] = int(offset)
    return found


def save_offsets(connection: sqlite3.Connection, next_offsets: dict[TopicPartitionKey, int], rules: list[str]) -> None:
    """The partitions' next offsets, and each rule's evaluated offset moved up to them (never down)."""
    connection.execute(UPSERT_OFFSETS, (orjson.dumps([[t, p, o] for (t, p), o in next_offsets.items()]),))
    connection.executemany(
        "INSERT INTO evaluated (rule, topic, partition, next_offset) VALUES (?, ?, ?, ?) ON CONFLICT (rule, topic, "
        "partition) DO UPDATE SET next_offset = max(next_offset, excluded.next_offset)",
        [(rule, t, p, o) for rule in rules for (t, p), o in next_offsets.items()])


def prune_resolved(connection: sqlite3.Connection, before: float) -> int:
    """Delete alerts resolved before wall time `before`; how many."""
    return connection.execute("DELETE FROM alerts WHERE state = 'resolved' AND updated_at < ?", (before,)).rowcount


def stored_offsets(connection: sqlite3.Connection) -> dict[TopicPartitionKey, int]:
    return {(str(t), int(p)): int(o) for t, p, o in connection.execute("SELECT topic, partition, next_offset FROM offsets")}


def rows(connection: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    return list(connection.execute(sql, params))
