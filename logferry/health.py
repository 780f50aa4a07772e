"""What `/health` answers, for the shipper and the consumer alike.

A process is healthy (200, `{"status": "ok", ...}`) unless one of these has lasted longer than its bound (503,
`{"status": "failing", "problems": [{"problem": ..., "for_s": ..., "error": ...}]}`):

- Kafka unreachable, or events in flight with no acknowledgement (`health.delivery_stall`);
- batch writes to the index failing (consumer, `health.delivery_stall`);
- checkpoints that cannot be written (shipper; at once: the runner retries them with backoff meanwhile);
- the main loop not turning (`health.loop_stall`).

An outage begins with librdkafka's first report of unreachable brokers (or a failed delivery) and ends with the next
acknowledgement or record; a stall without any error is a failure for /health, but no outage that "resumes".

`KafkaWatch` is the state machine of one process's link to Kafka: the main loop tells it when something starts
waiting, when an acknowledgement (or a record) arrives and when librdkafka reports the brokers down; a probe thread
tells it when a broker answers again while nothing is in flight. It says when an outage ends, so the caller can log
that delivery resumed. The HTTP thread only reads.

`Health` is one process's verdict: its loop's last turn and its checks, each the problem it sees (lasting longer than
its bound) or None. Both programs build one and hand its `answer` to logferry.exporter, which serves it at /health.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from logferry.config import Seconds, setting
from logferry.errors import ConfigError

# librdkafka error codes meaning no broker can be reached right now (retried by librdkafka for ever).
_UNREACHABLE_CODES = {
    -195,  # _TRANSPORT: a connection failed or broke
    -187,  # _ALL_BROKERS_DOWN
    -193,  # _RESOLVE: a broker name does not resolve
    -185,  # _TIMED_OUT
}
PROBE_INTERVAL = 5.0  # seconds between metadata requests while Kafka is thought unreachable and nothing waits
PROBE_TIMEOUT = 2.0  # seconds one probe waits for an answer (also the most a stop waits for the probe thread)


@dataclass(frozen=True, kw_only=True)
class HealthSettings:
    """When /health answers 503 (both programs)."""

    delivery_stall: Seconds = setting(
        60.0,
        "Seconds Kafka may be unreachable, events unacknowledged, or index writes failing before /health answers 503.",
    )
    loop_stall: Seconds = setting(30.0, "Seconds the main loop may go without a turn before /health answers 503.")

    def check(self, where: str) -> None:
        for name in ("delivery_stall", "loop_stall"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{where}.{name}", "must be greater than 0")


class Problem(StrEnum):
    """Why /health answers 503."""

    KAFKA_UNREACHABLE = "kafka_unreachable"
    DELIVERY_STALLED = "delivery_stalled"
    CHECKPOINTS_FAILING = "checkpoints_failing"
    WRITES_FAILING = "writes_failing"
    LOOP_STALLED = "loop_stalled"


@dataclass(frozen=True)
class Failure:
    """A problem, since when (time.monotonic()) and the last error seen, if any."""

    problem: Problem
    since: float
    error: str = ""


def is_unreachable(error: Any) -> bool:
    """Whether `error` (a confluent_kafka KafkaError) means no broker can be reached."""
    try:
        return int(error.code()) in _UNREACHABLE_CODES
    except (AttributeError, TypeError, ValueError):
        return False


def error_text(error: Any) -> str:
    """The human part of a KafkaError (its str() repeats the code and value), or str() of anything else."""
    text = getattr(error, "str", None)
    return str(text() if callable(text) else error)


class KafkaWatch:
    """Whether Kafka answers: reachable, unreachable since t, or waiting (in flight, unacknowledged) since t."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.waiting_since: float | None = None
        """Since when something waits for Kafka with no acknowledgement (None when nothing waits)."""
        self.unreachable_since: float | None = None
        self.error = ""
        self.outage_since: float | None = None
        """When the current outage began (the first error), None while none is going on."""

    def waiting(self, now: float) -> None:
        """Something now waits for Kafka (events produced while nothing was in flight)."""
        if self.waiting_since is None:
            self.waiting_since = now

    def unreachable(self, now: float, error: Any) -> None:
        """librdkafka reports the brokers unreachable."""
        with self._lock:
            self.error = error_text(error)
            if self.unreachable_since is None:
                self.unreachable_since = now
            if self.outage_since is None:
                self.outage_since = now

    def failed(self, now: float, error: Any) -> None:
        """A delivery failed (it is retried): an outage, if none is going on."""
        with self._lock:
            self.error = error_text(error)
            if self.outage_since is None:
                self.outage_since = now

    def answered(self, now: float, still_waiting: bool) -> float | None:
        """Kafka acknowledged something (or delivered a record). How long the outage that ends now lasted, if one did."""
        with self._lock:
            began = self.outage_since
            waited = self.waiting_since
            self.waiting_since = now if still_waiting else None
            self.unreachable_since = None
            self.outage_since = None
        return self._ended(now, began, waited)

    def reachable(self, now: float) -> float | None:
        """A broker answered a metadata request while nothing was acknowledged. The outage's length if it ends."""
        with self._lock:
            if self.waiting_since is not None:
                return None  # the outage ends when the waiting events are acknowledged
            began = self.outage_since
            self.unreachable_since = None
            self.outage_since = None
        return self._ended(now, began, None)

    @staticmethod
    def _ended(now: float, began: float | None, waited: float | None) -> float | None:
        if began is None:
            return None
        return now - (began if waited is None else min(began, waited))

    def failure(self, now: float, bound: float) -> Failure | None:
        """The delivery problem lasting longer than `bound` seconds, if any."""
        unreachable, waiting = self.unreachable_since, self.waiting_since
        if unreachable is not None and now - unreachable > bound:
            return Failure(Problem.KAFKA_UNREACHABLE, unreachable, self.error)
        if waiting is not None and now - waiting > bound:
            return Failure(Problem.DELIVERY_STALLED, waiting, self.error)
        return None

    @property
    def suspect(self) -> bool:
        """Thought unreachable while nothing waits: only a probe can tell that it is back."""
        return self.unreachable_since is not None and self.waiting_since is None


class ReachabilityProbe:
    """While `watch` thinks Kafka unreachable and nothing waits, asks `list_topics` every PROBE_INTERVAL seconds.

    An idle client sends nothing, so without a probe an outage would never be seen to end. `on_back(seconds)` is
    called (from the probe thread) when a probe ends an outage.
    """

    def __init__(self, watch: KafkaWatch, list_topics: Callable[[float], object], on_back: Callable[[float], None]) -> None:
        self._watch = watch
        self._list_topics = list_topics
        self._on_back = on_back
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kafka-probe", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(PROBE_TIMEOUT + 5)

    def _run(self) -> None:
        while not self._stop.wait(PROBE_INTERVAL):
            if not self._watch.suspect:
                continue
            try:
                self._list_topics(PROBE_TIMEOUT)
            except Exception:  # any failure means: not back yet
                continue
            lasted = self._watch.reachable(time.monotonic())
            if lasted is not None:
                self._on_back(lasted)


def lasting(problem: Problem, since: float | None, error: str, now: float, bound: float) -> Failure | None:
    """A Failure of `problem` when it has lasted (since `since`) longer than `bound` seconds."""
    if since is None or now - since <= bound:
        return None
    return Failure(problem, since, error)


def assess(now: float, settings: HealthSettings, last_turn: float, failures: list[Failure | None]) -> tuple[int, bytes]:
    """The /health status code and JSON body: `failures` are the checks' current problems (None when fine)."""
    problems = [f for f in failures if f is not None]
    if now - last_turn > settings.loop_stall:
        problems.append(Failure(Problem.LOOP_STALLED, last_turn))
    body: dict[str, Any] = {"status": "failing" if problems else "ok", "last_turn_s": round(now - last_turn, 3)}
    if problems:
        body["problems"] = [
            {"problem": p.problem.value, "for_s": round(now - p.since, 3), **({"error": p.error} if p.error else {})}
            for p in problems
        ]
    return (503 if problems else 200), orjson.dumps(body) + b"\n"


Check = Callable[[float], Failure | None]
"""One check of /health: given time.monotonic(), the problem it sees (already past its bound), or None."""


class Health:
    """The /health verdict of one process: the loop must turn within `settings.loop_stall`, and no check may fail."""

    def __init__(self, settings: HealthSettings, last_turn: Callable[[], float], checks: list[Check]) -> None:
        self.settings = settings
        self._last_turn = last_turn
        self._checks = checks

    def answer(self, now: float | None = None) -> tuple[int, bytes]:
        """The status code and JSON body at `now` (time.monotonic(), by default the present; called from the HTTP
        thread: the checks only read)."""
        now = time.monotonic() if now is None else now
        return assess(now, self.settings, self._last_turn(), [check(now) for check in self._checks])

    @staticmethod
    def kafka(watch: KafkaWatch, bound: float) -> Check:
        """Kafka unreachable, or something waiting unacknowledged, for longer than `bound` seconds."""
        return lambda now: watch.failure(now, bound)
