"""Each receiver's rate limit: a token bucket of `rate_limit` tokens refilled evenly over `rate_period`, kept in the
state file (a restart does not refill it). A group that finds the bucket empty is not dropped: its flush is put off
until a token is there, and whatever changed in it meanwhile goes out in that one notification."""

import sqlite3

from consumer.alerting.notify.settings import ReceiverSettings


def take(db: sqlite3.Connection, receiver: ReceiverSettings, now: float) -> float | None:
    """Take one token for `receiver`: None when taken (send now), else the time a token will be there."""
    if receiver.rate_limit <= 0:
        return None
    capacity = float(receiver.rate_limit)
    per_second = capacity / receiver.rate_period
    row = db.execute("SELECT tokens, updated FROM notify_buckets WHERE receiver = ?", (receiver.name,)).fetchone()
    tokens = capacity if row is None else min(capacity, float(row[0]) + max(0.0, now - float(row[1])) * per_second)
    if tokens >= 1.0:
        tokens -= 1.0
        db.execute("INSERT OR REPLACE INTO notify_buckets (receiver, tokens, updated) VALUES (?, ?, ?)",
                   (receiver.name, tokens, now))
        return None
    db.execute("INSERT OR REPLACE INTO notify_buckets (receiver, tokens, updated) VALUES (?, ?, ?)",
               (receiver.name, tokens, now))
    return now + (1.0 - tokens) / per_second
