"""What the evaluator tells the notifier: alerts and their state changes.

The evaluator (consumer.alerting.evaluator) owns an alert's state machine: it alone moves an alert between
PENDING, FIRING and RESOLVED, and records every move in its state database. The notifier
(consumer.alerting.notify) never changes an alert; it is handed each change, inside the evaluator's transaction
(the one that also stores the partitions' offsets), and decides what to send: routing, grouping, inhibition,
silences, repeats, rate limits, and the outbox that delivers.

An alert's identity is its `AlertKey`: the rule, the group (the values of the rule's `group_by` fields) and the
episode (the event time, in nanoseconds since the epoch, at which the condition began to hold). The same events
evaluated again (a replay, a restart after a kill) give the same keys, so what was already notified is
recognised and not sent again; `AlertKey.fingerprint` is what receivers see as Message-ID / Idempotency-Key seed.
"""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property


class Severity(StrEnum):
    """How bad an alert is; routes and inhibition compare them by `rank`."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class AlertState(StrEnum):
    """Where an alert is in its life: PENDING while its condition holds for less than the rule's `for`, FIRING once
    it held that long, RESOLVED once it stopped holding for the rule's `resolve_after` (a `match` rule's alert
    fires and resolves at once)."""

    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True, order=True)
class AlertKey:
    """An alert's identity: rule name, group key and episode start (event time, ns). Its texts are made once per key
    (cached_property writes the instance's __dict__, which a frozen dataclass allows; equality and order still
    compare the three fields only): the evaluator asks for the fingerprint of each open alert in every batch."""

    rule: str
    group: tuple[tuple[str, str], ...]  # (field, value) pairs of the rule's group_by, in group_by order
    episode: int

    @cached_property
    def group_text(self) -> str:
        """`service=billing,host=web1`, or `` for a rule without group_by."""
        return ",".join(f"{name}={value}" for name, value in self.group)

    @cached_property
    def fingerprint(self) -> str:
        """A stable hex digest of the identity (32 chars)."""
        text = "\x1f".join([self.rule, self.group_text, str(self.episode)])
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Alert:
    """One alert as it is after a state change."""

    key: AlertKey
    state: AlertState
    severity: Severity
    labels: Mapping[str, str]  # rule, severity, the group's fields and the rule's own labels
    summary: str  # one sentence: "23 matching events in 5m for service=billing (threshold 20)."
    started_at: int  # event time (ns) the condition began to hold
    fired_at: int | None  # event time (ns) it began FIRING, None while PENDING
    resolved_at: int | None  # event time (ns) it was RESOLVED
    count: int  # matching events in the window at the last evaluation
    late: bool  # evaluated from events older than the allowed lateness behind wall time (a backlog)
    samples: tuple[str, ...] = ()  # first lines (bodies) of up to 5 matching events
    search: str = ""  # the `consumer search` query (and --since/--until) that shows the matching events
    annotations: Mapping[str, str] = field(default_factory=dict)  # the rule's own free-text annotations


def split_search(search: str) -> tuple[str, str, str]:
    """An alert's `search` (`<query> --since <time> [--until <time>]`, made by consumer.alerting.engine) as (query,
    since, until): what the notifications' links and the console's alerts panel put in `q`, `since` and `until`."""
    text = " " + search.strip()
    head, marker, tail = text.rpartition(" --since ")
    if not marker:
        return search.strip(), "", ""
    since, _, until = tail.partition(" --until ")
    return head.strip(), since.strip(), until.strip()
