"""`run --once` means caught up: the end offsets of every partition of the topics are recorded when the run starts,
and it ends with exit 0 only once the index holds everything below them and no new record came for the idle timeout.

"The index holds" is read where the offsets that decide where consumption resumes live: the sink's stored offsets
when the sink keeps them (SQLite stores them in the transaction of the rows, so they cover what any worker writing
this database made durable, this one or another), else the group's committed offsets in Kafka (OpenSearch: a worker
commits only what its sink acknowledged). A partition counts as done when that offset reached its recorded end.

While behind, the run waits through rebalances and for stale members (a killed worker keeps its partitions until
its session expires) to be dropped. `max_wait` bounds the wait without progress: when those offsets did not move
towards the recorded ends for that long (they are read every CHECK_INTERVAL), the run gives up and ends with exit 1
and one line naming each partition left and its lag. A long backlog that is being indexed never trips it (records
newer than the recorded ends do not count as progress); a dead broker, a sink that keeps failing, or a live member
that holds partitions and does not index them does. The default is the session timeout + the idle timeout +
a margin: long enough for a killed member's session to expire and the rebalance that follows.
"""

import enum
import logging
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin import OffsetSpec as _OffsetSpec  # type: ignore[attr-defined]

from consumer.config import ConsumerConfig
from consumer.records import TopicPartitionKey
from consumer.sinks.base import IndexReader
from consumer.sinks.registry import open_reader
from logferry.errors import LogferryError
from logferry.kafka import refusal

log = logging.getLogger(__name__)

MARGIN = 30.0  # seconds on top of session and idle timeouts in the default max_wait
CHECK_INTERVAL = 1.0  # seconds between reads of the offsets while no record arrives
WAIT_LOG_INTERVAL = 10.0  # seconds between "still behind" log lines
REQUEST_TIMEOUT = 5.0  # seconds one admin request may take
LISTED = 12  # partitions named in the give-up line; the rest are counted
OffsetSpec: Any = _OffsetSpec  # untyped in confluent_kafka


class NotCaughtUp(LogferryError):
    """`run --once` could not reach the end offsets recorded at its start within max_wait (retriable later)."""

    retriable = True


class CatchUpState(enum.Enum):
    BEHIND = "behind"
    CAUGHT_UP = "caught up"
    GAVE_UP = "gave up"


@dataclass(frozen=True)
class Verdict:
    state: CatchUpState
    message: str = ""


BEHIND = Verdict(CatchUpState.BEHIND)


def default_max_wait(config: ConsumerConfig, idle_timeout: float) -> float:
    """Seconds without progress before `run --once` gives up, unless --max-wait says otherwise."""
    return config.kafka.session_timeout_ms / 1000 + idle_timeout + MARGIN


def end_offsets(admin: AdminClient, indexed: Callable[[str], bool]) -> dict[TopicPartitionKey, tuple[int, int]]:
    """(log start, log end) of every partition that exists now of the topics `indexed` accepts (listed, or matched by
    a "^" pattern and not a dead-letter topic: ConsumerKafka.indexes, so a pattern's dead letters are not waited for)."""
    metadata = admin.list_topics(timeout=REQUEST_TIMEOUT)
    keys = [
        (name, number)
        for name, info in sorted(metadata.topics.items())
        if info.error is None and indexed(name)
        for number in sorted(info.partitions)
    ]
    if not keys:
        return {}
    found: dict[TopicPartitionKey, list[int]] = {key: [0, 0] for key in keys}
    for slot, spec in ((0, OffsetSpec.earliest()), (1, OffsetSpec.latest())):
        requests = admin.list_offsets({TopicPartition(t, p): spec for t, p in keys}, request_timeout=REQUEST_TIMEOUT)
        for partition, future in requests.items():
            found[(partition.topic, partition.partition)][slot] = future.result(timeout=REQUEST_TIMEOUT + 5).offset
    return {key: (low, high) for key, (low, high) in found.items()}


class CatchUp:
    """Decides when a `--once` run is done (see the module docstring). Driven from the worker's loop."""

    def __init__(self, config: ConsumerConfig, *, idle_timeout: float, max_wait: float | None) -> None:
        self._config = config
        self._idle_timeout = idle_timeout
        self._max_wait = max_wait if max_wait is not None else default_max_wait(config, idle_timeout)
        self._refused: str | None = None
        # error_cb: refused credentials surface there, not as an exception of the request that failed.
        settings: dict[str, Any] = {**config.kafka.client_config(), "error_cb": self._client_error}
        self._admin = AdminClient(settings)
        self._reader: IndexReader | None = None
        self.targets: dict[TopicPartitionKey, int] = {}
        self._low: dict[TopicPartitionKey, int] = {}
        self._progress: dict[TopicPartitionKey, int] = {}
        self._committed: futures.Future[Any] | None = None
        now = time.monotonic()
        self._last_record = now
        self._last_progress = now
        self._checked = 0.0
        self._logged = now

    def _client_error(self, error: Any) -> None:
        reason = refusal(error)
        if reason is not None and self._refused is None:
            self._refused = reason

    @property
    def max_wait(self) -> float:
        return self._max_wait

    def start(self, stopping: Callable[[], bool]) -> bool:
        """Record the end offsets, retrying transient failures for up to max_wait; NotCaughtUp when that fails.
        False when `stopping()` said so meanwhile."""
        deadline = time.monotonic() + self._max_wait
        while True:
            if stopping():
                return False
            try:
                offsets = end_offsets(self._admin, self._config.kafka.indexes)
                break
            except (KafkaException, futures.TimeoutError) as error:
                self._admin.poll(0)  # serves error_cb
                if self._refused is None and isinstance(error, KafkaException) and error.args:
                    self._refused = refusal(error.args[0])
                if self._refused is not None:
                    raise LogferryError(self._refused) from error
                if time.monotonic() >= deadline:
                    raise NotCaughtUp(
                        f"could not read the end offsets of {', '.join(self._config.kafka.topics)} within "
                        f"{self._max_wait:.0f} s: {error}"
                    ) from error
                log.warning("Reading the end offsets failed; retrying.", extra={"error": str(error)})
                time.sleep(0.5)
        self.targets = {key: high for key, (_low, high) in offsets.items()}
        self._low = {key: low for key, (low, _high) in offsets.items()}
        now = time.monotonic()
        self._last_record = self._last_progress = self._logged = now
        log.info("Catching up to the end offsets recorded at start.", extra={
            "partitions": len(self.targets), "records": sum(self.lag().values()), "max_wait_s": round(self._max_wait, 1),
            "idle_timeout_s": self._idle_timeout})
        return True

    def lag(self) -> dict[TopicPartitionKey, int]:
        """Per partition still behind its recorded end: how many offsets are left."""
        left = {}
        for key, end in self.targets.items():
            done = max(self._progress.get(key, -1), self._low.get(key, 0))
            if done < end:
                left[key] = end - done
        return left

    def verdict(self, now: float, records: int, quiet: bool) -> Verdict:
        """After one turn of the worker's loop that brought `records` records; `quiet`: nothing is buffered or in
        flight. BEHIND to go on, CAUGHT_UP to stop with exit 0, GAVE_UP (with the line to print) to stop with 1."""
        if records:
            self._last_record = now
        if now - self._checked >= CHECK_INTERVAL:
            self._checked = now
            self._measure(now)
        left = self.lag()
        if not left:
            if quiet and now - self._last_record >= self._idle_timeout:
                log.info("No new record for the idle timeout, and the index holds everything up to the end offsets "
                         "recorded at start; stopping.",
                         extra={"idle_timeout": self._idle_timeout, "partitions": len(self.targets)})
                return Verdict(CatchUpState.CAUGHT_UP)
            return BEHIND
        stalled = now - self._last_progress
        if stalled >= self._max_wait:
            return Verdict(CatchUpState.GAVE_UP, self._give_up_line(left, stalled))
        if now - self._logged >= WAIT_LOG_INTERVAL:
            self._logged = now
            log.info("Not caught up yet; waiting for the partitions left (held by other or stale members, or "
                     "being rebalanced).", extra={"lag": _named(left), "stalled_s": round(stalled, 1),
                                                  "gives_up_in_s": round(self._max_wait - stalled, 1)})
        return BEHIND

    def _give_up_line(self, left: dict[TopicPartitionKey, int], stalled: float) -> str:
        return f"not caught up: no progress for {stalled:.0f} s (--max-wait {self._max_wait:.0f}); {_behind(left)}"

    def unfinished(self) -> str | None:
        """For a run stopped by request: the line saying what is left, or None when the index holds everything."""
        self._measure(time.monotonic())
        left = self.lag()
        return f"stopped before catching up: {_behind(left)}" if left else None

    def _measure(self, now: float) -> None:
        """Read the offsets that say what the index holds; a move forward counts as progress."""
        if not self.targets:
            return
        before = sum(min(self._progress.get(k, 0), end) for k, end in self.targets.items())
        stored = self._stored()
        if stored is not None:
            self._progress.update({k: v for k, v in stored.items() if k in self.targets})
        else:
            self._collect_committed()
        after = sum(min(self._progress.get(k, 0), end) for k, end in self.targets.items())
        if after > before:
            self._last_progress = now

    def _stored(self) -> dict[TopicPartitionKey, int] | None:
        try:
            if self._reader is None:
                self._reader = open_reader(self._config)
            return self._reader.stored_offsets()
        except Exception as error:  # the index is busy or briefly unreadable: measure again next time
            log.debug("Reading the stored offsets failed.", extra={"error": str(error)})
            return {}

    def _collect_committed(self) -> None:
        """Take the answer of the last committed-offsets request if it came, and send the next one. Never blocks:
        with the broker unreachable the answer just does not come."""
        if self._committed is not None:
            if not self._committed.done():
                return
            try:
                answer = self._committed.result()
                self._progress.update({(tp.topic, tp.partition): tp.offset for tp in answer.topic_partitions
                                       if tp.offset >= 0 and (tp.topic, tp.partition) in self.targets})
            except KafkaException as error:
                log.debug("Reading the committed offsets failed.", extra={"error": str(error)})
        request = ConsumerGroupTopicPartitions(self._config.kafka.group_id, [TopicPartition(t, p) for t, p in self.targets])
        self._committed = self._admin.list_consumer_group_offsets(
            [request], request_timeout=REQUEST_TIMEOUT)[self._config.kafka.group_id]

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


def _behind(left: dict[TopicPartitionKey, int]) -> str:
    listed = ", ".join(f"{t}[{p}] lag {n}" for (t, p), n in sorted(left.items())[:LISTED])
    more = f" and {len(left) - LISTED} more" if len(left) > LISTED else ""
    return (f"{len(left)} partition(s) behind the end offsets recorded at start: {listed}{more} "
            f"({sum(left.values())} records in all)")


def _named(lag: dict[TopicPartitionKey, int]) -> dict[str, int]:
    return {f"{t}[{p}]": n for (t, p), n in sorted(lag.items())}
