"""One member of the consumer group: consume, decode, write batches to the sink, commit.

Commit order, per batch:
  1. `consume(num_messages, timeout)` fills the batch. Nothing is stored or committed by the client
     (`enable.auto.commit=false`, `enable.auto.offset.store=false`).
  2. `sink.flush()` makes the batch durable: dead letters acknowledged by Kafka first, then the rows, the dead
     letters and (SQLite) the partitions' next offsets in one transaction. It runs on a writer thread while the
     main thread consumes the next batch; one flush at a time, and its outcome is handled on the main thread.
  3. Only then the batch's next offsets are committed to Kafka: asynchronously after each batch, synchronously
     on revoke and at shutdown. A crash between 2 and 3 re-delivers records the index already holds; the
     event_id makes them no-ops (SQLite also resumes from its own stored offsets).
  A failed flush moves no offset: consumption pauses, the worker keeps polling so `max.poll.interval.ms` never
  expires, and retries with exponential backoff and jitter until the sink takes the batch.

Rebalance listener contract (cooperative-sticky, so each callback gets only the partitions that change):
  on_assign(partitions): ask the sink where each partition resumes (SQLite: its stored offset, else the
    beginning; OpenSearch: Kafka's committed offset, else earliest), `incremental_assign` at those offsets,
    and keep them paused while the sink is failing.
  on_revoke(partitions): this member still owns them. Write what is buffered (one attempt), commit the durable
    offsets synchronously, then forget the buffered records of those partitions and `incremental_unassign`.
  on_lost(partitions): another member may own them already. Forget their buffered records, commit nothing.
  Callbacks run inside consume()/close() on the main thread (close() on a helper thread while the main thread waits
  for it, see membership.close_consumer); each first waits for the flush in flight, so the sink is never touched by
  two threads at once. Partitions of dead-letter topics a topic pattern matches are left out of all three (never
  assigned to the client, so never read).

Group membership (consumer/membership.py): long-running workers are static members, so a restart after a crash takes
the partitions back without a rebalance; a stopping static member unsubscribes before close() to leave the group.
A static member fenced (FENCED_INSTANCE_ID, fatal in librdkafka) by a join of its own that the coordinator processed
late closes the unusable client, forgets what it buffered (as for lost partitions) and joins again with a new one after
a delay; fenced by another worker with its instance id, it stops (membership.Fencings decides).
Partitions the stable group leaves to nobody (a static member killed between the two steps of a cooperative rebalance,
restarted within the session timeout) are noticed by membership.UnownedWatch; the member whose turn it is leaves the
group and joins again, which makes the group assign them.
`run --once` is a dynamic member and stops when caught up with the end offsets recorded at start (consumer/catchup.py).
"""

import gc
import logging
import random
import time
from concurrent import futures
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, OFFSET_INVALID, Consumer, KafkaException, TopicPartition

from consumer.batching import FlushTrigger
from consumer.catchup import CatchUp, CatchUpState, NotCaughtUp
from consumer.config import ConsumerConfig
from consumer.membership import (
    CLOSE_TIMEOUT,
    EXPIRY_MARGIN,
    Fencings,
    Membership,
    RejoinWatch,
    UnownedWatch,
    close_consumer,
    fatal_reason,
    instance_held,
    is_fencing,
    leave_group,
    membership_for,
)
from consumer.metrics import Metrics, resumed
from consumer.records import Batch, TopicPartitionKey, decode_into
from consumer.sinks.base import FlushResult, Sink, SinkError
from logferry.errors import LogferryError
from logferry.health import is_unreachable
from logferry.kafka import refusal
from logferry.progress import Progress
from logferry.sdnotify import Notifier

log = logging.getLogger(__name__)

POLL_TIMEOUT = 0.2  # seconds; also how fast a stop request is noticed
CONSUME_MOST = 10_000  # most records one consume() call asks for
LAG_INTERVAL = 1.0  # seconds between lag updates while the metrics endpoint serves
UPKEEP_INTERVAL = 5.0  # seconds between the sink's upkeep turns while no batch waits (flushes do their own)
RESUME_REFRESH = 10.0  # seconds a partition's stored or committed offset serves the lag while nothing is read from it
STALLED_CLOSE_TIMEOUT = 5.0  # seconds a stuck client gets to close before it is left behind (its session expires)
# The loop allocates short-lived objects per record (decoded events, rows, sources): a larger young generation lets
# most of them die or be untracked before a collection walks them (the default 700 collects every few hundred records).
GC_YOUNG_THRESHOLD = 50_000


def consumer_settings(config: ConsumerConfig, membership: Membership) -> dict[str, Any]:
    """librdkafka properties of a worker."""
    kafka = config.kafka
    settings: dict[str, Any] = {
        **kafka.client_config(),
        **membership.settings(),  # client.id, and group.instance.id for a static member
        "group.id": kafka.group_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "partition.assignment.strategy": "cooperative-sticky",
        "session.timeout.ms": kafka.session_timeout_ms,
        "max.poll.interval.ms": kafka.max_poll_interval_ms,
        # Bounded prefetch: at most this many KiB wait in the client's queue, whatever the backlog.
        "queued.max.messages.kbytes": 32_768,
        # Once that queue is full, librdkafka waits this long before it fetches the partition again (1 s by
        # default), and the queue runs dry meanwhile: a backfill spent half its time in consume() waiting.
        "fetch.queue.backoff.ms": 10,
        # A topic created after the worker started (the shipper's first event) is noticed within seconds, not minutes.
        "topic.metadata.refresh.interval.ms": 10_000,
    }
    return settings


class Worker:
    """Runs the consume-write-commit loop until stopped (or caught up, with `once`)."""

    def __init__(self, config: ConsumerConfig, sink: Sink, metrics: Metrics, progress: Progress) -> None:
        self._config = config
        self._settings = config.consumer
        self._sink = sink
        self._metrics = metrics
        self._progress = progress
        self._consumer: Consumer | None = None
        self._batch = Batch()
        settings = config.consumer
        self._trigger = FlushTrigger(
            max_events=settings.batch_max_events, max_bytes=settings.batch_max_bytes, max_wait=settings.batch_max_wait,
            linger=settings.batch_linger, idle_timeout=POLL_TIMEOUT,
        )
        self._assigned: set[TopicPartitionKey] = set()
        self._ever_assigned = False
        self._upkeep_at = time.monotonic() + UPKEEP_INTERVAL
        self._upkeep_future: futures.Future[None] | None = None
        self._paused = False
        self._failing = False
        self._failures = 0
        self._retry_at = 0.0
        self._stop = False
        self._refused: str | None = None
        self._membership: Membership | None = None
        self._fencings: Fencings | None = None
        self._fenced = False  # set by the client's fatal FENCED_INSTANCE_ID; handled by the loop (_after_fencing)
        self._rejoin_watch = RejoinWatch(config.kafka.session_timeout_ms / 1000)
        self._unowned_watch: UnownedWatch | None = None  # long-running workers only (see membership.UnownedWatch)
        self._catchup: CatchUp | None = None
        self._not_caught_up: str | None = None
        self._last_activity = time.monotonic()
        self._client_errors: dict[int, float] = {}
        self._lag_updated = 0.0
        self._resume_cache: dict[TopicPartitionKey, tuple[int, float]] = {}  # _resume_offsets: (offset, when asked)
        # One flush at a time runs here while the main thread consumes the next batch.
        self._writer = futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="sink-writer")
        self._inflight: futures.Future[tuple[FlushResult, float]] | None = None
        # Per-host isolation: each event must carry the host id of its topic.
        self._topic_host = config.kafka.topic_host if config.kafka.host_topic_prefix else None
        # Partitions the group gave this member that it does not read: dead-letter topics a pattern matches.
        self._ignored: set[TopicPartitionKey] = set()
        self._notifier = Notifier()  # systemd's READY and WATCHDOG (nothing without a NOTIFY_SOCKET)

    def stop(self) -> None:
        """Ask the loop to finish its batch, commit and leave (safe from a signal handler)."""
        self._stop = True

    @property
    def consumer(self) -> Consumer:
        if self._consumer is None:
            raise RuntimeError("the worker is not running")
        return self._consumer

    def run(self, *, once: bool = False, idle_timeout: float = 10.0, max_wait: float | None = None) -> int:
        """Consume until stopped (or, with `once`, until caught up with the end offsets at start and no record came for
        `idle_timeout` s; see consumer/catchup.py); the exit code."""
        if once:
            self._catchup = CatchUp(self._config, idle_timeout=idle_timeout, max_wait=max_wait)
            if not self._catchup.start(lambda: self._stop):  # before joining: the end offsets when the run starts
                return 0
        self._membership = membership_for(self._config, once=once)
        if self._membership.instance_id is not None:
            self._fencings = Fencings(self._membership.instance_id)
        self._last_activity = time.monotonic()
        self._join()
        if not once:
            self._unowned_watch = UnownedWatch(self._config)
            self._unowned_watch.start()
        log.info("Consuming.", extra={"topics": self._config.kafka.topics, "group_id": self._config.kafka.group_id,
                                      "group_instance_id": self._membership.instance_id,
                                      "client_id": self._membership.client_id})
        self._notifier.ready(f"consuming {', '.join(self._config.kafka.topics)}")
        thresholds = gc.get_threshold()
        gc.freeze()  # what start-up built lives as long as the process: full collections need not walk it
        gc.set_threshold(GC_YOUNG_THRESHOLD, thresholds[1], thresholds[2])
        try:
            self._loop()
        finally:
            gc.set_threshold(*thresholds)
            gc.unfreeze()
        self._notifier.stopping()
        code = self._shutdown()
        self._notifier.close()
        if self._refused is not None:
            raise LogferryError(self._refused)
        if self._catchup is not None:
            if self._stop and self._not_caught_up is None:
                self._not_caught_up = self._catchup.unfinished()  # stopped by request: done only if caught up
            self._catchup.close()
        if self._not_caught_up is not None:
            raise NotCaughtUp(self._not_caught_up)
        return code

    def _upkeep(self) -> None:
        """The sink's idle upkeep (retention while nothing arrives), on the writer thread: never beside a flush."""
        self._upkeep_at = time.monotonic() + UPKEEP_INTERVAL
        if self._upkeep_future is None or self._upkeep_future.done():
            self._upkeep_future = self._writer.submit(self._sink.maintain)

    def _join(self) -> None:
        """Create the client and subscribe: the group assigns partitions from the next consume() on."""
        assert self._membership is not None
        # error_cb: connection-level errors (such as refused credentials) never arrive as consumed messages.
        self._consumer = Consumer({**consumer_settings(self._config, self._membership), "error_cb": self._client_error})
        self._subscribe()

    def _subscribe(self) -> None:
        self.consumer.subscribe(
            list(self._config.kafka.topics), on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
        )

    def _member_id(self) -> str | None:
        """The client's member id in the group; None while it has none."""
        try:
            return self._consumer.memberid() if self._consumer is not None else None
        except (RuntimeError, KafkaException):
            return None

    def _loop(self) -> None:
        while not self._stop:
            got = self._poll()
            if self._fenced:
                self._after_fencing()
                continue
            if self._rejoin_watch.due(time.monotonic()):
                self._replace_stalled_client()
                continue
            unowned = self._unowned_watch.due(self._member_id) if self._unowned_watch is not None else None
            if unowned:
                self._rejoin_for_unowned(unowned)
                continue
            if self._inflight is not None and self._inflight.done():
                self._settle()
            now = self._metrics.last_turn = time.monotonic()
            self._notifier.alive()
            if self._failing:
                self._last_activity = now
                if now >= self._retry_at and self._inflight is None:
                    self._write()
            elif self._inflight is None and self._trigger.due(now, len(self._batch), self._batch.size_bytes):
                self._write()
            elif self._inflight is None and not len(self._batch) and now >= self._upkeep_at:
                self._upkeep()
            if self._progress.due() or (self._metrics.serving and now - self._lag_updated >= LAG_INTERVAL):
                self._report()
            if self._catchup is not None:
                quiet = self._inflight is None and not len(self._batch) and not self._sink.buffered()
                verdict = self._catchup.verdict(now, got, quiet)
                if verdict.state is CatchUpState.GAVE_UP:
                    self._not_caught_up = verdict.message
                if verdict.state is not CatchUpState.BEHIND:
                    break

    def _poll(self) -> int:
        """One consume() call; returns how many records it brought. Pauses while the sink fails, or while the batch is
        full and the write in flight takes long."""
        consumer = self.consumer
        trigger = self._trigger
        events, nbytes = len(self._batch), self._batch.size_bytes
        began = time.monotonic()
        full = trigger.full(events, nbytes)
        if self._inflight is not None and (full or trigger.due(began, events, nbytes)):
            # The batch waits only for the write in flight, which usually ends well within a second: wait for it
            # rather than call consume() (the client keeps fetching meanwhile) and, when full, pause and re-fetch.
            futures.wait([self._inflight], timeout=1.0)
            if self._inflight.done():
                return 0
            began = time.monotonic()
        if self._failing or full:
            self._pause(True)
        elif self._paused:
            self._pause(False)
        asked = trigger.room(events, CONSUME_MOST)
        # While the sink fails nothing is written before the retry: no batch deadline to keep.
        timeout = POLL_TIMEOUT if self._failing else trigger.timeout(began, events)
        messages = consumer.consume(num_messages=asked, timeout=timeout)
        trigger.consumed(began, asked, len(messages), events)
        if not messages:
            return 0
        self._answered()
        self._last_activity = time.monotonic()
        errors = decode_into(
            self._batch, messages, self._sink.prepare, self._settings.max_record_bytes, self._settings.deadletter_raw_bytes,
            topic_host=self._topic_host,
        )
        for message in errors:
            self._client_error(message.error())
        return len(messages) - len(errors)

    def _write(self, *, sync: bool = False) -> bool | None:
        """Hand the batch to the sink and start a flush on the writer thread, so that consuming and decoding the next
        batch overlaps with it (the sink's I/O releases the GIL). With `sync`, flush here, commit synchronously, and
        return whether it worked; otherwise None (the result is handled by `_settle`)."""
        self._settle()
        if len(self._batch):
            self._sink.add(self._batch)
            self._batch = Batch()
        if sync:
            try:
                outcome: tuple[FlushResult, float] | SinkError = self._timed_flush()
            except SinkError as error:
                outcome = error
            return self._handle(outcome, sync_commit=True)
        self._inflight = self._writer.submit(self._timed_flush)
        return None

    def _timed_flush(self) -> tuple[FlushResult, float]:
        started = time.monotonic()
        try:
            result = self._sink.flush()
        except SinkError:
            raise
        except Exception as error:
            # A sink bug must not end the process with records half handled: retry, loudly.
            log.exception("The sink failed unexpectedly.")
            raise SinkError(f"unexpected sink failure: {error!r}", retriable=False) from error
        return result, time.monotonic() - started

    def _settle(self) -> bool | None:
        """Wait for the flush in flight, if any, and act on its outcome (commit, or pause and schedule a retry).
        Called before anything else touches the sink: the next write, rebalance callbacks, shutdown."""
        if self._inflight is None:
            return None
        future, self._inflight = self._inflight, None
        try:
            outcome: tuple[FlushResult, float] | SinkError = future.result()
        except SinkError as error:
            outcome = error
        return self._handle(outcome, sync_commit=False)

    def _handle(self, outcome: "tuple[FlushResult, float] | SinkError", *, sync_commit: bool) -> bool:
        """Commit what a flush made durable; on failure pause and schedule the retry. Whether the flush worked."""
        self._metrics.retried_items = self._sink.retried_items
        if isinstance(outcome, SinkError):
            self._commit(outcome.durable, sync=sync_commit)
            self._failed(outcome)
            return False
        result, seconds = outcome
        self._metrics.observe_batch(seconds)
        if self._failing:
            log.info("The sink took the batch again; consumption resumes.", extra={"failures": self._failures})
        self._failing = False
        self._failures = 0
        self._account(result)
        self._commit(result.durable, sync=sync_commit)
        for (topic, partition), offset in result.conflicts.items():
            if (topic, partition) in self._assigned:
                # Another member wrote this partition meanwhile: continue from what it stored.
                self._batch = self._batch.without([(topic, partition)])
                try:
                    self.consumer.seek(TopicPartition(topic, partition, offset))
                except KafkaException as seek_error:
                    log.warning("Could not seek after a conflict.", extra={"topic": topic, "partition": partition,
                                                                            "error": str(seek_error)})
        return True

    def _failed(self, error: SinkError) -> None:
        self._failing = True
        self._failures += 1
        self._metrics.flush_failures += 1
        settings = self._settings
        # Exponential backoff with jitter: many workers failing together do not retry in lockstep.
        delay = min(settings.retry_max, settings.retry_initial * 2 ** min(self._failures - 1, 30))
        delay *= random.uniform(0.5, 1.0)
        self._retry_at = time.monotonic() + delay
        (log.warning if error.retriable else log.error)(
            "Writing a batch failed; consumption is paused and the write will be retried.",
            extra={"error": str(error), "retriable": error.retriable, "retry_in_s": round(delay, 2),
                   "buffered": self._sink.buffered(), "failures": self._failures},
        )

    def _account(self, result: FlushResult) -> None:
        metrics = self._metrics
        metrics.indexed += result.indexed
        metrics.duplicates += result.duplicates
        metrics.dead_letters += result.dead_letters
        metrics.conflicts += result.id_conflicts
        metrics.consumed += result.indexed + result.duplicates + result.dead_letters + result.id_conflicts

    def _commit(self, offsets: dict[TopicPartitionKey, int], *, sync: bool) -> None:
        """Commit `offsets` (next offsets) of partitions this member still owns."""
        owned = [TopicPartition(t, p, o) for (t, p), o in offsets.items() if (t, p) in self._assigned and o >= 0]
        if not owned:
            return
        try:
            if sync:
                self.consumer.commit(offsets=owned, asynchronous=False)
            else:
                self.consumer.commit(offsets=owned, asynchronous=True)
        except KafkaException as error:
            # The sink already holds these records; a later commit covers them, and a re-delivery is a no-op.
            log.warning("Committing offsets to Kafka failed.", extra={"error": str(error)})

    def _pause(self, paused: bool) -> None:
        """Pause (or resume) every assigned partition; partitions assigned later follow the same state."""
        if paused == self._paused:
            return
        if self._assigned:
            partitions = [TopicPartition(t, p) for t, p in self._assigned]
            (self.consumer.pause if paused else self.consumer.resume)(partitions)
        self._paused = paused

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._settle()
        partitions = self._not_ignored(partitions, assigned=True)
        if not partitions:
            return
        keys = [(p.topic, p.partition) for p in partitions]
        stored = self._stored_offsets(keys)
        for partition in partitions:
            key = (partition.topic, partition.partition)
            if self._sink.owns_offsets:
                partition.offset = stored.get(key, OFFSET_BEGINNING)
            else:
                partition.offset = OFFSET_INVALID  # Kafka's committed offset, else auto.offset.reset (earliest)
        consumer.incremental_assign(partitions)
        self._assigned.update(keys)
        self._ever_assigned = True
        self._rejoin_watch.assigned()
        self._last_activity = time.monotonic()
        self._answered()
        if self._paused:
            consumer.pause(partitions)
        log.info("Partitions assigned.", extra={"partitions": _names(keys), "stored_offsets": _names(stored)})

    def _stored_offsets(self, keys: list[TopicPartitionKey]) -> dict[TopicPartitionKey, int]:
        for attempt in range(10):
            try:
                return self._sink.stored_offsets(keys)
            except SinkError as error:
                log.warning("Reading stored offsets failed; retrying.", extra={"error": str(error), "attempt": attempt + 1})
                time.sleep(1.0)
        # Consuming without knowing where would risk the index; stop without moving anything.
        raise SinkError("cannot read the stored offsets of the assigned partitions", retriable=True)

    def _not_ignored(self, partitions: list[TopicPartition], *, assigned: bool) -> list[TopicPartition]:
        """`partitions` without those of topics the consumer does not index (a pattern matched a dead-letter topic):
        those are never read, and the group's later revoke or loss of them is not passed on to the client."""
        kafka = self._config.kafka
        kept = []
        for partition in partitions:
            key = (partition.topic, partition.partition)
            if key in self._ignored or not kafka.indexes(partition.topic):
                if assigned and key not in self._ignored:
                    self._ignored.add(key)
                    log.info("A topic pattern matches this dead-letter topic; it is not read.",
                             extra={"topic": partition.topic, "partition": partition.partition})
                elif not assigned:
                    self._ignored.discard(key)
                continue
            kept.append(partition)
        return kept

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._settle()
        partitions = self._not_ignored(partitions, assigned=False)
        if not partitions:
            return
        keys = [(p.topic, p.partition) for p in partitions]
        if not self._failing and (len(self._batch) or self._sink.buffered()):
            self._write(sync=True)
        self._forget(keys)
        consumer.incremental_unassign(partitions)
        log.info("Partitions revoked.", extra={"partitions": _names(keys)})

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._settle()
        partitions = self._not_ignored(partitions, assigned=False)
        if not partitions:
            return
        keys = [(p.topic, p.partition) for p in partitions]
        self._forget(keys)
        consumer.incremental_unassign(partitions)
        log.warning("Partitions lost; their buffered records are dropped (the new owner reads them).",
                    extra={"partitions": _names(keys)})
        if not self._assigned:
            self._rejoin_watch.lost_all(time.monotonic())

    def _forget(self, keys: list[TopicPartitionKey]) -> None:
        self._sink.drop(keys)
        self._batch = self._batch.without(keys)
        self._assigned.difference_update(keys)
        self._last_activity = time.monotonic()

    def _after_fencing(self) -> None:
        """Fenced: the client is unusable. Wait for the member that took the instance id to expire with its session;
        then rejoin with a new client after a delay, or stop when it stays (another worker; membership.Fencings)."""
        self._fenced = False
        assert self._membership is not None and self._fencings is not None
        fenced_at = time.monotonic()
        expiry = self._config.kafka.session_timeout_ms / 1000 + EXPIRY_MARGIN
        log.info("Kafka fenced this worker; waiting for the member that took its group.instance.id to expire.",
                 extra={"group_instance_id": self._membership.instance_id, "within_s": expiry})
        held = instance_held(self._config.kafka.client_config(), self._config.kafka.group_id,
                             str(self._membership.instance_id), fenced_at + expiry, should_stop=self._waiting)
        verdict = self._fencings.verdict(held, time.monotonic())
        if verdict.rejoin_in is None:
            self._refused = verdict.reason
            self._stop = True
            log.error("Kafka fenced this worker; it stops.", extra={"reason": verdict.reason,
                                                                     "fenced_by": verdict.fenced_by.value})
            return
        log.warning("Kafka fenced this worker with its own group membership; it rejoins.",
                    extra={"why": verdict.reason, "fenced_by": verdict.fenced_by.value,
                           "group_instance_id": self._membership.instance_id, "rejoin_in_s": round(verdict.rejoin_in, 1),
                           "waited_s": round(time.monotonic() - fenced_at, 1),
                           "buffered_dropped": len(self._batch) + self._sink.buffered()})
        self._drop_client(CLOSE_TIMEOUT)  # fatal: it cannot leave; the rejoin replaces its member
        deadline = time.monotonic() + verdict.rejoin_in
        while not self._waiting() and time.monotonic() < deadline:
            time.sleep(min(POLL_TIMEOUT, max(0.0, deadline - time.monotonic())))
        self._join()
        self._last_activity = time.monotonic()
        log.info("Joining the group again.", extra={"group_instance_id": self._membership.instance_id})

    def _replace_stalled_client(self) -> None:
        """No partitions since they were all lost, for longer than a rejoin takes: replace the client (RejoinWatch)."""
        assert self._membership is not None
        log.warning("The group gave this worker no partitions since it lost them; it joins again with a new Kafka client.",
                    extra={"waited_s": round(self._rejoin_watch.waited, 1),
                           "group_instance_id": self._membership.instance_id})
        self._rejoin_watch.replaced(time.monotonic())
        self._drop_client(STALLED_CLOSE_TIMEOUT)  # its coordinator connection is what is stuck
        self._join()
        self._last_activity = time.monotonic()

    def _rejoin_for_unowned(self, unowned: frozenset[TopicPartitionKey]) -> None:
        """Partitions stay owned by no member of the stable group: leave it and join again, so that it rebalances and
        assigns them (membership.UnownedWatch). Leaving revokes this worker's partitions as a stop does: what is
        buffered is written and committed first."""
        assert self._membership is not None
        log.warning("Partitions of the group's topics are owned by no worker while the group is stable; this worker "
                    "leaves the group and joins again so that the group assigns them.",
                    extra={"partitions": _names(sorted(unowned)), "group_instance_id": self._membership.instance_id})
        self._settle()
        leave_group(self.consumer, self._membership, to_rejoin=True)
        self._subscribe()
        self._last_activity = time.monotonic()

    def _drop_client(self, close_timeout: float) -> None:
        """Close a client the worker replaces (fenced, or stuck without partitions), as if its partitions were lost."""
        self._settle()  # the flush in flight ends (its rows are durable with their offsets); its commit cannot be made
        # As for lost partitions: what is not durable yet is read again after the rejoin, from the stored offsets.
        self._forget(list(self._assigned))
        self._ignored.clear()
        self._paused = False
        close_consumer(self.consumer, timeout=close_timeout)
        self._consumer = None

    def _waiting(self) -> bool:
        """One turn of a wait on purpose (which /health must not take for a stalled loop); whether to stop waiting."""
        self._metrics.last_turn = time.monotonic()
        return self._stop

    def _client_error(self, error: Any) -> None:
        if is_fencing(error, self._membership) and self._fencings is not None:
            self._fenced = True  # handled by the loop once consume() returns (this runs inside it)
            return
        reason = refusal(error) or fatal_reason(error, self._membership)
        if reason is not None and self._refused is None:
            # Bad credentials or permissions: retrying cannot help, so the worker stops with this reason.
            self._refused = reason
            self._stop = True
            log.error("Kafka refused the connection; the worker stops.", extra={"reason": reason})
            return
        code = error.code()
        now = time.monotonic()
        if is_unreachable(error):
            self._metrics.kafka.unreachable(now, error)
        if now - self._client_errors.get(code, -1e9) >= 30.0:
            self._client_errors[code] = now
            log.warning("Kafka reported an error while consuming.", extra={"error": str(error)})

    def _answered(self) -> None:
        """Kafka answered (records or an assignment arrived): an outage, if one was going on, ends."""
        lasted = self._metrics.kafka.answered(time.monotonic(), False)
        if lasted is not None:
            resumed(lasted)

    def _report(self) -> None:
        lag: dict[TopicPartitionKey, int] = {}
        consumer = self.consumer
        try:
            positions = consumer.position([TopicPartition(t, p) for t, p in self._assigned])
        except KafkaException:
            positions = []
        resume = self._resume_offsets([(p.topic, p.partition) for p in positions if p.offset < 0])
        for position in positions:
            low, high = consumer.get_watermark_offsets(position, cached=True)
            if high < 0:
                continue
            key = (position.topic, position.partition)
            # No record read since the assignment (a quiet partition after a restart): reading resumes at the stored
            # (or committed) offset, so the lag counts from there, as `status` does; the low watermark only when the
            # group never committed.
            start = position.offset if position.offset >= 0 else resume.get(key, max(low, 0))
            lag[key] = max(0, high - start)
        self._metrics.lag = lag
        self._lag_updated = time.monotonic()
        metrics = self._metrics
        if self._progress.due():
            self._progress.report(metrics.indexed + metrics.duplicates + metrics.dead_letters, sum(lag.values()))

    def _resume_offsets(self, keys: list[TopicPartitionKey]) -> dict[TopicPartitionKey, int]:
        """Where reading resumes on the partitions `keys` whose position is not known yet: the sink's stored offsets
        when it holds them (and no flush uses it), else the group's committed ones (which follow the stored ones);
        asked again every RESUME_REFRESH s while nothing is read from them."""
        now = time.monotonic()
        known = {key: self._resume_cache[key] for key in keys if key in self._resume_cache}
        self._resume_cache = known  # partitions read since, or no longer assigned, are forgotten
        missing = [key for key in keys if key not in known or now - known[key][1] >= RESUME_REFRESH]
        if missing:
            try:
                if self._sink.owns_offsets and self._inflight is None:  # the sink is not in use by the writer thread
                    found = self._sink.stored_offsets(missing)
                else:
                    committed = self.consumer.committed([TopicPartition(t, p) for t, p in missing], timeout=1.0)
                    found = {(c.topic, c.partition): c.offset for c in committed if c.offset >= 0}
            except (KafkaException, SinkError):
                # Kafka or the sink does not answer: not asked again (nor waited for) before RESUME_REFRESH s;
                # meanwhile the offset known before, else the low watermark.
                found = {key: known[key][0] for key in missing if key in known}
            for key in missing:
                self._resume_cache[key] = (found.get(key, -1), now)  # -1: none stored or committed
        return {key: offset for key, (offset, _) in self._resume_cache.items() if offset >= 0}

    def _shutdown(self) -> int:
        """Write what is left (up to shutdown_timeout), commit, leave the group. 0 when nothing was left behind."""
        deadline = time.monotonic() + self._settings.shutdown_timeout
        left_behind = 0
        self._settle()
        while len(self._batch) or self._sink.buffered():
            if time.monotonic() >= self._retry_at and self._write(sync=True):
                break
            if time.monotonic() >= deadline:
                left_behind = len(self._batch) + self._sink.buffered()
                log.error(
                    "Stopping with records not written; they are read again at the next start.",
                    extra={"records": left_behind},
                )
                break
            self._poll()  # paused while failing; keeps the membership and serves rebalances
        if self._progress.mode != "off":
            self._report()
        self._progress.finish()
        if self._unowned_watch is not None:
            self._unowned_watch.stop()
        if self._membership is not None:
            leave_group(self.consumer, self._membership)  # a static member leaves for good too
        close_consumer(self.consumer)  # bounded: with the broker unreachable librdkafka's close() may never return
        self._consumer = None
        if self._membership is not None:
            self._membership.release()
        self._writer.shutdown(wait=True)
        log.info(
            "Stopped.",
            extra={"indexed": self._metrics.indexed, "duplicates_skipped": self._metrics.duplicates,
                   "dead_letters": self._metrics.dead_letters, "retried_items": self._metrics.retried_items},
        )
        return 0 if not left_behind else 1


def _names(keys: Any) -> list[str]:
    return [f"{t}[{p}]" for t, p in keys]
