"""The alert evaluator as a sink of the consumer's worker: batches in, alert state and offsets out, in one transaction.

The worker (consumer/worker.py) gives it what it gives the SQLite sink: membership, rebalances, catch-up, retries,
metrics, health. `prepare` (on the worker's main thread, while the previous batch is evaluated) decides which rules
each event concerns; `flush` (on the writer thread) counts the batch into the windows, moves alerts, hands the changes
to the notifier (`observe`), and stores the windows, the alerts, the notifier's rows and the partitions' next offsets
in ONE SQLite transaction. A kill -9 at any point leaves the state of the last commit and resumes reading right
after it, so an alert is recorded (and notified) once. A failed transaction rolls back and the in-memory state is
read again from the database before the batch is tried again.

Compare-and-set on the stored offsets, as in the SQLite sink: a partition another member wrote since this one read it
is left out of the transaction and reported as a conflict.

Replay: each rule's evaluated offset per partition (store.evaluated) only moves up, and an event below it is not
counted again by that rule.

What the notifier is handed (`observe(db, changes, now)`): each alert that moved to FIRING, and each alert that
fired and then moved to RESOLVED, once, in the transaction that records the move. A PENDING alert, and one that
stopped holding before its `for` passed (recorded as RESOLVED with `fired_at` None), are recorded for `alert list`
but not handed over; nor are count updates of an alert already firing (a `match` alert's final count comes with its
RESOLVED change at the end of its interval).

Between batches, and while nothing arrives (the worker's idle upkeep), the clock turns every `evaluation_interval`:
resolutions, absence rules, closed match intervals and the notifier's timers (`due`).
"""

import logging
import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import Any

from consumer.alerting.compiled import compile_rule
from consumer.alerting.config import EvaluatorConfig
from consumer.alerting.engine import Engine
from consumer.alerting.fastpath import Dispatch, Item, fresh_items
from consumer.alerting.model import Alert, AlertState
from consumer.alerting.store import (
    evaluated,
    load_engine,
    open_state,
    prune_resolved,
    save_engine,
    save_offsets,
    saved,
    stored_offsets,
)
from consumer.records import Batch, TopicPartitionKey
from consumer.sinks.base import FlushResult, Sink, SinkError
from consumer.sinks.sqlite import BEGINNING, retriable

log = logging.getLogger(__name__)

_UNREAD = object()
PRUNE_INTERVAL = 600.0  # seconds between deletions of alerts resolved longer than resolved_retention ago


class EvaluatorStats:
    """What the evaluator counts, read by its metrics collector."""

    def __init__(self) -> None:
        self.evaluated = 0
        self.changes: dict[AlertState, int] = {state: 0 for state in AlertState}
        self.open: dict[AlertState, int] = {AlertState.PENDING: 0, AlertState.FIRING: 0}
        self.lag_seconds = 0.0
        self.skipped = 0  # events a rule had already counted (read again after a replay)


class EvaluatorSink(Sink):
    """Evaluates batches against the rules; owns the offsets (see the module's docstring)."""

    owns_offsets = True

    def __init__(self, config: EvaluatorConfig, notifier: Any, stats: EvaluatorStats | None = None,
                 clock: Callable[[], int] = time.time_ns) -> None:
        self._config = config
        self._path = config.alert.state_path
        self._rules = [compile_rule(i, r, config.alert.allowed_lateness) for i, r in enumerate(config.rules)]
        self._names = [rule.name for rule in self._rules]
        self._dispatch = Dispatch(self._rules)
        self.prepare = self._dispatch.prepare  # type: ignore[method-assign]
        self._notifier = notifier
        self.stats = stats or EvaluatorStats()
        self._clock = clock
        self._connection: sqlite3.Connection | None = None
        self._engine: Engine | None = None
        self._evaluated: dict[str, dict[TopicPartitionKey, int]] = {}
        self._pending = Batch()
        self._expected: dict[TopicPartitionKey, int | None] = {}
        self._catching_up = False
        self._catchup_size = max(1, config.file.consumer.batch_max_events // 2)
        self._interval = config.alert.evaluation_interval
        self._ticked = 0.0
        self._pruned = 0.0

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def setup(self) -> None:
        try:
            self._connection = open_state(self._path)
            self._load()
        except (sqlite3.Error, OSError) as error:
            raise SinkError(f"cannot open the alert state database {self._path}: {error}", retriable=False) from error

    def _load(self) -> None:
        engine = Engine(self._rules)
        load_engine(self.connection, engine)
        self._engine = engine
        self._evaluated = evaluated(self.connection)
        self._count_open()

    @property
    def connection(self) -> sqlite3.Connection:
        if self._connection is None:
            raise SinkError("the alert evaluator is not set up", retriable=False)
        return self._connection

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._load()
        assert self._engine is not None
        return self._engine

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    # -- the sink interface ---------------------------------------------------------------------------------------

    def prepare(self, event: dict[str, Any], raw: bytes) -> Any:  # replaced per instance by Dispatch.prepare
        return self._dispatch.prepare(event, raw)

    def stored_offsets(self, partitions: Iterable[TopicPartitionKey]) -> dict[TopicPartitionKey, int]:
        found: dict[TopicPartitionKey, int] = {}
        for topic, partition in partitions:
            row = self.connection.execute(
                "SELECT next_offset FROM offsets WHERE topic = ? AND partition = ?", (topic, partition)).fetchone()
            self._expected[(topic, partition)] = None if row is None else int(row[0])
            if row is not None:
                found[(topic, partition)] = int(row[0])
        return found

    def add(self, batch: Batch) -> None:
        self._pending.extend(batch)

    def buffered(self) -> int:
        return len(self._pending)

    def drop(self, partitions: Iterable[TopicPartitionKey]) -> None:
        gone = set(partitions)
        self._pending = self._pending.without(gone)
        for tp in gone:
            self._expected.pop(tp, None)

    def maintain(self) -> None:
        """The clock's turn while no batch arrives (the worker's idle upkeep)."""
        self._catching_up = False
        try:
            self._tick(force=False)
        except sqlite3.Error as error:
            log.warning("An evaluation turn failed; it is tried again later.", extra={"error": str(error)})
            self._engine = None

    def flush(self) -> FlushResult:
        batch = self._pending
        if not batch.next_offsets:
            self.maintain()
            return FlushResult()
        connection = self.connection
        wall_ns = self._clock()
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                conflicts = self._conflicts(batch.next_offsets)
                if conflicts:
                    batch = batch.without(conflicts)
                engine = self.engine
                items = self._fresh(batch)
                self._catching_up = batch.consumed >= self._catchup_size
                changes = engine.ingest(items, wall_ns, catching_up=self._catching_up)
                if wall_ns / 1e9 - self._ticked >= self._interval:
                    changes.extend(engine.evaluate(wall_ns, catching_up=self._catching_up))
                    self._ticked = wall_ns / 1e9
                self._record(changes, wall_ns)
                save_offsets(connection, batch.next_offsets, self._names)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                self._engine = None  # read again from the database: the rolled-back moves never happened
                raise
        except sqlite3.Error as error:
            raise SinkError(f"recording the batch's alerts in {self._path} failed: {error}",
                            retriable=retriable(error)) from error
        saved(engine)
        self._committed(batch.next_offsets, conflicts, items, changes, engine)
        return FlushResult(durable=dict(batch.next_offsets), conflicts=conflicts, indexed=len(batch.items),
                           dead_letters=len(batch.dead_letters))

    # -- inside the transaction ----------------------------------------------------------------------------------

    def _fresh(self, batch: Batch) -> list[Item]:
        """The batch's prepared items, without the hits of rules that already counted the event (after a replay)."""
        evaluated_offsets = self._evaluated
        floors: dict[TopicPartitionKey, int] = {}
        for tp in batch.next_offsets:
            floors[tp] = max((per.get(tp, 0) for per in evaluated_offsets.values()), default=0)
        items, skipped = fresh_items(batch.items, batch.sources, evaluated_offsets, self._names, floors)
        self.stats.skipped += skipped
        return items

    def _record(self, changes: list[Alert], wall_ns: int) -> None:
        """The engine's state and the changes, and the notifier's part, in the open transaction."""
        connection = self.connection
        save_engine(connection, self.engine, wall_ns / 1e9)
        now = wall_ns / 1e9
        if changes:
            self._notifier.observe(connection, changes, now)
        self._notifier.due(connection, now)
        if now - self._pruned >= PRUNE_INTERVAL:
            self._pruned = now
            prune_resolved(connection, now - self._config.alert.resolved_retention)

    def _tick(self, *, force: bool) -> None:
        now = self._clock() / 1e9
        if not force and now - self._ticked < self._interval:
            return
        connection = self.connection
        wall_ns = self._clock()
        connection.execute("BEGIN IMMEDIATE")
        try:
            engine = self.engine
            changes = engine.evaluate(wall_ns, catching_up=self._catching_up)
            self._record(changes, wall_ns)
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            self._engine = None
            raise
        self._ticked = now
        saved(engine)
        self._committed({}, {}, [], changes, engine)

    def _committed(self, next_offsets: dict[TopicPartitionKey, int], conflicts: dict[TopicPartitionKey, int],
                   items: list[Item], changes: list[Alert], engine: Engine) -> None:
        for name in self._names:
            per = self._evaluated.setdefault(name, {})
            for tp, offset in next_offsets.items():
                if offset > per.get(tp, 0):
                    per[tp] = offset
        self._expected.update(next_offsets)
        for tp, offset in conflicts.items():
            self._expected[tp] = None if offset == BEGINNING else offset
        if next_offsets:
            self._pending = Batch()
        stats = self.stats
        stats.evaluated += len(items)
        for change in changes:
            stats.changes[change.state] += 1
            log.info("An alert changed state.", extra={
                "rule": change.key.rule, "group": change.key.group_text, "state": change.state.value,
                "episode": change.key.episode, "late": change.late, "summary": change.summary})
        if items and engine.newest_event > 0:
            stats.lag_seconds = max(0.0, self._clock() / 1e9 - engine.newest_event / 1e9)
        self._count_open()

    def _count_open(self) -> None:
        engine = self._engine
        if engine is None:
            return
        pending = firing = 0
        for rule_state in engine.states:
            for group in rule_state.open:
                state = rule_state.groups.get(group)
                if state is None:
                    continue
                alerts = [state.active] if state.active is not None else list(state.intervals.values())
                for alert in alerts:
                    if alert is not None and alert.state is AlertState.PENDING:
                        pending += 1
                    elif alert is not None:
                        firing += 1
        self.stats.open = {AlertState.PENDING: pending, AlertState.FIRING: firing}

    def _conflicts(self, next_offsets: dict[TopicPartitionKey, int]) -> dict[TopicPartitionKey, int]:
        """Partitions whose stored offset is no longer what this member expects, with the stored offset."""
        conflicts: dict[TopicPartitionKey, int] = {}
        stored = stored_offsets(self.connection)
        for tp in next_offsets:
            found = stored.get(tp)
            expected = self._expected.get(tp, _UNREAD)
            if expected is _UNREAD or found != expected:
                conflicts[tp] = BEGINNING if found is None else found
                log.warning("Another member wrote this partition; its records of this batch are left out.",
                            extra={"topic": tp[0], "partition": tp[1], "stored_offset": found,
                                   "expected_offset": expected})
        return conflicts
