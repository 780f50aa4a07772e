"""Silences: while one is active, the alerts of its rule whose labels have its matchers' values are not notified
(they are recorded as suppressed, with the silence's id). A silence ends at its `until` or when removed.

Each function runs in the caller's transaction on the state file (the `alert silence` CLI commits it)."""

import datetime
import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import orjson

ANY_RULE = "*"


@dataclass(frozen=True)
class Silence:
    id: int
    rule: str  # a rule's name, or "*" for every rule
    matchers: Mapping[str, str]  # label -> value, all must be equal
    created: float
    until: float
    comment: str

    def __str__(self) -> str:
        matchers = " ".join(f"{name}={value}" for name, value in self.matchers.items())
        until = datetime.datetime.fromtimestamp(self.until, tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        text = f"{self.id} rule={self.rule}" + (f" {matchers}" if matchers else "") + f" until {until}"
        return text + (f" ({self.comment})" if self.comment else "")

    def mutes(self, rule: str, labels: Mapping[str, str]) -> bool:
        if self.rule not in (ANY_RULE, rule):
            return False
        return all(labels.get(name) == value for name, value in self.matchers.items())


def add(db: sqlite3.Connection, rule: str, matchers: Mapping[str, str] | Iterable[tuple[str, str]], until: float,
        comment: str, *, now: float | None = None) -> int:
    """A new silence of `rule` ("*": all rules) for alerts whose labels match `matchers` (label -> value, a dict or
    pairs), until `until` (epoch s); its id."""
    created = time.time() if now is None else now
    cursor = db.execute(
        "INSERT INTO notify_silences (rule, matchers, created, until, comment) VALUES (?, ?, ?, ?, ?)",
        (rule, orjson.dumps(dict(sorted(dict(matchers).items()))).decode(), created, until, comment),
    )
    return int(cursor.lastrowid or 0)


def list_active(db: sqlite3.Connection, now: float) -> list[Silence]:
    """The silences in force at `now`, oldest first."""
    rows = db.execute(
        "SELECT id, rule, matchers, created, until, comment FROM notify_silences "
        "WHERE removed IS NULL AND until > ? ORDER BY id", (now,)
    ).fetchall()
    return [Silence(int(i), str(r), orjson.loads(m), float(c), float(u), str(t)) for i, r, m, c, u, t in rows]


def remove(db: sqlite3.Connection, silence_id: int | str, *, now: float | None = None) -> bool:
    """End silence `silence_id` (as `add` returned it, or its text); False when there is no such silence in force."""
    ended = time.time() if now is None else now
    try:
        number = int(silence_id)
    except ValueError:
        return False
    cursor = db.execute("UPDATE notify_silences SET removed = ? WHERE id = ? AND removed IS NULL AND until > ?",
                        (ended, number, ended))
    return cursor.rowcount > 0


def prune(db: sqlite3.Connection, before: float) -> None:
    """Forget silences that ended before `before`."""
    db.execute("DELETE FROM notify_silences WHERE until < ? OR removed < ?", (before, before))
