"""Producing events to Kafka so that none is ever dropped.

- enable.idempotence, acks=all, compression and large batches; message.timeout.ms=0, so librdkafka retries
  for ever instead of dropping a message after a timeout while the broker is away.
- A delivery report with an error puts the message back (shrunk first when the broker found it too large);
  a fatal producer error replaces the producer and re-produces everything it still held.
- In-flight records and bytes are counted so the runner can stop reading while Kafka is behind.
- `watch` (logferry.health.KafkaWatch) follows whether Kafka answers, for /health and the "Delivery resumed." line;
  with `--once`, `expect_kafka_within` makes the shipper give up (exit 1) when no broker answers for connect_timeout.
"""

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

import orjson
from confluent_kafka import KafkaError, KafkaException, Producer

from logferry.errors import ConfigError
from logferry.health import KafkaWatch, is_unreachable
from logferry.kafka import CLIENT_LOG, await_kafka, refusal
from shipper.config import ShipperKafka
from shipper.delivery.acks import AckTracker, DeliveryBatch, InFlight
from shipper.delivery.oversize import shrink_event
from shipper.records import KAFKA_HEADER_EVENT_ID, KAFKA_HEADER_SCHEMA_VERSION, KAFKA_SCHEMA_VERSION, EncodedEvent

log = logging.getLogger("shipper.delivery")

# Final: compiled, these are C constants instead of a module-dict lookup per produced message
SCHEMA_HEADER: tuple[str, str | bytes | None] = (KAFKA_HEADER_SCHEMA_VERSION, KAFKA_SCHEMA_VERSION)
ANY_PARTITION: Final = -1  # the partitioner picks it from the key
NOW: Final = 0  # message timestamp: the time of producing
# Room for key, headers and record framing inside the broker's message size limit.
OVERHEAD_BYTES = 512
_TOO_LARGE = {KafkaError.MSG_SIZE_TOO_LARGE, getattr(KafkaError, "RECORD_LIST_TOO_LARGE", -1)}


class Stopping(Exception):
    """A stop was requested while waiting for room in the producer's queue; the event was not produced."""


class Delivery:
    """The Kafka producer with acknowledgement tracking."""

    def __init__(self, kafka: ShipperKafka, max_inflight_bytes: int, should_stop: Callable[[], bool] = lambda: False) -> None:
        self.kafka = kafka
        self.topic = kafka.topic
        self.limit = kafka.max_message_bytes - OVERHEAD_BYTES
        self.max_inflight_bytes = max_inflight_bytes
        self.should_stop = should_stop
        self.inflight = InFlight()
        self.retries: list[tuple[DeliveryBatch, str, bytes, bytes, Any]] = []
        self.fatal = False
        self.refused: str | None = None
        """Set when Kafka refuses our credentials or permissions, or (with --once) no broker answered for
        connect_timeout: retrying cannot help, so the shipper stops."""
        self.watch = KafkaWatch()
        self.give_up_after: float | None = None
        """With --once: seconds without an answer from Kafka after which the shipper gives up (None: never)."""
        # Batches must fit the broker's limit too; halved (and the producer rebuilt) if the broker says otherwise.
        self.batch_size = min(1_000_000, kafka.max_message_bytes)
        self.rebuild = False
        self.delivery_errors = 0
        self.events_produced = 0
        self.bytes_produced = 0
        self.truncated = 0
        self._last_error_log: dict[int, float] = {}
        try:
            self.producer = Producer(self.producer_config())
        except KafkaException as error:
            # librdkafka rejects a passed-through property: that is a configuration error.
            raise ConfigError("kafka.librdkafka", str(error.args[0].str() if error.args else error)) from None

    def producer_config(self) -> dict[str, Any]:
        kafka = self.kafka
        config: dict[str, Any] = {
            "enable.idempotence": True,
            "acks": "all",
            "compression.type": kafka.compression,
            "linger.ms": kafka.linger_ms,
            "message.timeout.ms": 0,
            "batch.size": self.batch_size,
            "batch.num.messages": 10_000,
            "queue.buffering.max.messages": 2_000_000,
            "queue.buffering.max.kbytes": max(16_384, 2 * self.max_inflight_bytes // 1024),
            "message.max.bytes": max(1_000_000, kafka.max_message_bytes + 65_536),
            "error_cb": self._on_error,
        }
        config.update(kafka.client_config())
        return config

    # -- producing -------------------------------------------------------------------------------------------

    def send(
        self, tracker: AckTracker, stream_id: str, events: Sequence[EncodedEvent], end: int, marker: str, *,
        topic: str | None = None, topics: Sequence[str] | None = None,
    ) -> None:
        """Produce `events` of one stream in order; once all are acknowledged the stream is covered up to `end`.
        To kafka.topic, or `topic` (an input's own), or each event to its entry in `topics` (a templated topic)."""
        idle = self.inflight.records == 0
        batch = tracker.open_batch(len(events), 0, end, marker)
        if not events:
            return
        if idle:
            self.watch.waiting(time.monotonic())
        produce = self.producer.produce
        if topic is None:
            topic = self.topic
        limit = self.limit
        key = stream_id.encode()  # the Kafka key is the stream id (shipper.parsers.encoder)
        nbytes = 0
        for n, (_, _, encoded, event_id) in enumerate(events):  # unpacking is cheaper than NamedTuple attribute access
            value = encoded
            size = len(value)
            if size > limit:
                value = shrink_event(value, limit)
                size = len(value)
                self.truncated += 1
            # a dict converts to librdkafka headers with fewer instructions than a list of pairs (same headers, same order)
            headers: dict[str, str | bytes | None] = {
                KAFKA_HEADER_SCHEMA_VERSION: KAFKA_SCHEMA_VERSION, KAFKA_HEADER_EVENT_ID: event_id,
            }
            try:
                # Positional on purpose: keyword arguments make the C binding look every parameter name up by
                # string for each message (~0.4 µs, a sixth of the cost of producing one event). Its order is
                # (topic, value, key, partition, callback, on_delivery, timestamp, headers).
                produce(topic if topics is None else topics[n], value, key, ANY_PARTITION, batch, None, NOW, headers)
            except BufferError:
                self._produce_when_room(batch, topic if topics is None else topics[n], key, value, headers)
            except KafkaException as error:
                self._refused_at_once(error)
            nbytes += size
        batch.nbytes = nbytes
        self.inflight.bytes += nbytes
        self.events_produced += len(events)
        self.bytes_produced += nbytes

    def _produce_when_room(self, batch: DeliveryBatch, topic: str, key: bytes, value: bytes, headers: Any) -> None:
        while True:
            if self.should_stop():
                # The batch stays incomplete, so the checkpoint stays before this event: it is read again.
                raise Stopping
            self.producer.poll(0.05)
            try:
                self.producer.produce(topic, value, key, headers=headers, on_delivery=batch)
                return
            except BufferError:
                continue
            except KafkaException as error:
                self._refused_at_once(error)

    def _refused_at_once(self, error: KafkaException) -> None:
        """produce() itself raised: once librdkafka knows the ACLs refuse the topic (the --once connect check fetched
        its metadata, say), it refuses each message at once instead of in a delivery report. Stop like a refusal there;
        anything else is a bug of ours and propagates."""
        reason = refusal(error.args[0]) if error.args else None
        if reason is None:
            raise error
        if self.refused is None:
            self.refused = reason
            log.error("Kafka refused the connection; the shipper stops.", extra={"reason": reason})
        # The batch stays incomplete, so the checkpoint stays before this event: it is read again.
        raise Stopping

    def poll(self, timeout: float = 0.0) -> None:
        """Serve delivery reports (for up to `timeout` seconds when there are none) and put failures back."""
        records = self.inflight.records
        self.producer.poll(timeout)
        if self.inflight.records < records:
            self._answered()
        elif self.give_up_after is not None and records:
            self._give_up_when_silent()
        if self.retries or self.fatal:
            self._resend()

    def _answered(self) -> None:
        lasted = self.watch.answered(time.monotonic(), self.inflight.records > 0)
        if lasted is not None:
            self.resumed(lasted)

    def resumed(self, lasted: float) -> None:
        """An outage ended (from the main thread, or the metrics server's probe thread)."""
        log.info("Delivery resumed.", extra={"outage_s": round(lasted, 3), "in_flight": self.inflight.records})

    def _give_up_when_silent(self) -> None:
        assert self.give_up_after is not None
        failure = self.watch.failure(time.monotonic(), self.give_up_after)
        if failure is not None and self.refused is None:
            why = f": {failure.error}" if failure.error else "; Kafka reported no error (is the topic missing?)"
            self.refused = f"Kafka did not acknowledge anything for {self.give_up_after:g} s (kafka.connect_timeout){why}"

    def expect_kafka_within(self, timeout: float, should_stop: Callable[[], bool]) -> None:
        """For --once: ShipperError unless a broker answers within `timeout` seconds; from then on, give up (with
        `refused`) when events wait that long without an acknowledgement. A running shipper never gives up."""
        from shipper.errors import ShipperError

        failure = await_kafka(
            self.kafka.bootstrap_servers, lambda seconds: self.producer.list_topics(self.topic, timeout=seconds),
            timeout, should_stop, serve=lambda: self.producer.poll(0), detail=lambda: self.watch.error,
        )
        if failure is not None:
            raise ShipperError(failure)
        self.give_up_after = timeout

    def probe(self, timeout: float) -> object:
        """A metadata request (from the metrics server's probe thread): raises when no broker answers."""
        return self.producer.list_topics(self.topic, timeout=timeout)

    @property
    def congested(self) -> bool:
        """Too much awaits acknowledgement: reading should pause."""
        return self.inflight.bytes >= self.max_inflight_bytes

    @property
    def settled(self) -> bool:
        return self.inflight.records == 0 and not self.retries

    def flush(self, timeout: float | None, should_stop: Any = None) -> bool:
        """Wait until every produced event is acknowledged; False when `timeout` seconds passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.settled:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            if should_stop is not None and should_stop():
                return False
            self.poll(0.1)
        return True

    # -- failures --------------------------------------------------------------------------------------------

    def failed(self, batch: DeliveryBatch, error: Any, message: Any) -> None:
        """A delivery report with an error: keep the message to produce it again."""
        self.delivery_errors += 1
        code = error.code()
        if code not in _TOO_LARGE:  # an event too large is shrunk and sent again: no outage
            self.watch.failed(time.monotonic(), error)
        value = message.value() or b""
        if code in _TOO_LARGE:
            if len(value) > self.batch_size // 4:
                value = shrink_event(value, max(1024, min(self.limit, len(value) // 2)))
                self.truncated += 1
            elif not self.rebuild and self.batch_size > 16_384:
                # A small event in a batch the broker found too large: smaller batches, not a cut event.
                self.batch_size = max(16_384, self.batch_size // 2)
                self.rebuild = True
        reason = refusal(error)
        if reason is not None and self.refused is None:
            # A topic the ACLs do not let us write is refused per message, never through error_cb: retrying cannot help.
            self.refused = reason
            log.error("Kafka refused the connection; the shipper stops.", extra={"reason": reason})
        if error.fatal():
            self.fatal = True
        # A delivery report does not always carry the headers; the event id is in the event itself.
        headers = message.headers() or _headers_of(value)
        self.retries.append((batch, message.topic() or self.topic, message.key() or b"", value, headers))
        self._log_error("A delivery failed; the event will be produced again.", error)

    def _resend(self) -> None:
        if self.fatal or self.rebuild:
            log.warning(
                "Replacing the Kafka producer and producing its messages again.",
                extra={"fatal_error": self.fatal, "batch_size": self.batch_size},
            )
            self.producer.purge(in_queue=True, in_flight=True, blocking=True)
            self.producer.flush(10)  # the purged messages come back through failed()
            self.producer = Producer(self.producer_config())
            self.fatal = self.rebuild = False
        retries, self.retries = self.retries, []
        for batch, topic, key, value, headers in retries:
            try:
                self.producer.produce(topic, value, key, headers=headers, on_delivery=batch)
            except BufferError:
                self._produce_when_room(batch, topic, key, value, headers)
            except KafkaException as error:
                # Still refused locally (e.g. too large for this client): shrink harder and try again.
                self._log_error("The producer refused an event; shrinking it.", error.args[0])
                small = shrink_event(value, max(1024, len(value) // 2))
                self.retries.append((batch, topic, key, small, headers))

    def _on_error(self, error: Any) -> None:
        reason = refusal(error)
        if reason is not None and self.refused is None:
            self.refused = reason
            log.error("Kafka refused the connection; the shipper stops.", extra={"reason": reason})
        if error.fatal():
            self.fatal = True
        if is_unreachable(error):
            self.watch.unreachable(time.monotonic(), error)
        self._log_error("Kafka reports an error; events wait in the producer until it recovers.", error)

    def _log_error(self, message: str, error: Any) -> None:
        code = error.code() if hasattr(error, "code") else -1
        now = time.monotonic()
        if now - self._last_error_log.get(code, -1e9) >= 10.0:
            self._last_error_log[code] = now
            log.warning(message, extra={"error": str(error), "code": code})


def _headers_of(value: bytes) -> list[tuple[str, str | bytes | None]]:
    try:
        event_id = orjson.loads(value).get("event_id", "")
    except (orjson.JSONDecodeError, AttributeError):
        event_id = ""
    return [SCHEMA_HEADER, (KAFKA_HEADER_EVENT_ID, str(event_id).encode())]


def check_librdkafka(kafka: ShipperKafka) -> None:
    """ConfigError when librdkafka rejects a property passed through in [kafka.librdkafka] together with the ones
    `run` always sets (idempotence, acks; secrets not needed)."""
    config: dict[str, Any] = {"bootstrap.servers": kafka.bootstrap_servers, "logger": CLIENT_LOG,
                              "enable.idempotence": True, "acks": "all", "message.timeout.ms": 0}
    for name, value in kafka.librdkafka.items():
        config[name] = "placeholder" if isinstance(value, str) and value.startswith("env:") else value
    try:
        Producer(config)
    except KafkaException as error:
        raise ConfigError("kafka.librdkafka", str(error.args[0].str() if error.args else error)) from None
