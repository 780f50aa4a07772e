"""Publishing dead letters to `<topic><deadletter_suffix>` (default `<topic>.deadletter`).

A dead letter's value is the record's raw bytes (cut to `deadletter_raw_bytes`), its key the record's key, and
its headers say where it came from and why: `logferry.source.topic`, `.partition`, `.offset`, `logferry.error`,
`logferry.size` (the original size). The original stays at its topic, partition and offset until retention.

`publish` waits until the broker acknowledged every dead letter, or raises a retriable SinkError: the sink then
fails its flush, and no offset moves past a dead letter that is not safely stored. A retry may publish a letter
twice; the headers identify duplicates.
"""

import logging
from dataclasses import replace
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from consumer.config import ConsumerKafka
from consumer.records import DeadLetter
from consumer.sinks.base import SinkError

log = logging.getLogger(__name__)

SMALL_RAW = 65_536  # raw bytes kept when the broker refuses a dead letter as too large


class DeadLetterPublisher:
    """Produces dead letters to Kafka and waits for their acknowledgement."""

    def __init__(self, kafka: ConsumerKafka, raw_limit: int, timeout: float = 30.0) -> None:
        self._kafka = kafka
        self._timeout = timeout
        self._producer: Producer | None = None
        self._raw_limit = raw_limit
        # Source topics whose dead-letter topic was created (or found) already.
        self._ensured: set[str] = set()

    def _client(self) -> Producer:
        if self._producer is None:
            self._producer = Producer(
                {
                    **self._kafka.client_config(),
                    "enable.idempotence": True,
                    "acks": "all",
                    "linger.ms": 5,
                    "message.max.bytes": max(1_000_000, self._raw_limit + 65_536),
                }
            )
        return self._producer

    def ensure_topics(self, sources: list[str] | None = None) -> None:
        """Create missing dead-letter topics (1 partition) of `sources` (default: the listed topics; those a pattern
        matches are ensured when their first dead letter comes); a failure is logged, publishing retries later."""
        sources = self._kafka.literal_topics() if sources is None else sources
        self._ensured.update(sources)
        if not self._kafka.create_deadletter_topics or not sources:
            return
        admin = AdminClient(self._kafka.client_config())
        wanted = [self._kafka.deadletter_topic(t) for t in sources]
        try:
            existing = set(admin.list_topics(timeout=10).topics)
        except KafkaException as error:
            log.warning("Could not list topics to create the dead-letter topics.", extra={"error": str(error)})
            return
        missing = [NewTopic(t, num_partitions=1, replication_factor=-1) for t in wanted if t not in existing]
        if not missing:
            return
        for topic, future in admin.create_topics(missing).items():
            try:
                future.result(timeout=30)
                log.info("Created the dead-letter topic.", extra={"topic": topic})
            except KafkaException as error:
                if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    log.warning("Could not create the dead-letter topic.", extra={"topic": topic, "error": str(error)})

    def publish(self, letters: list[DeadLetter]) -> None:
        if not letters:
            return
        new_sources = sorted({letter.topic for letter in letters} - self._ensured)
        if new_sources:
            self.ensure_topics(new_sources)
        producer = self._client()
        failures: list[str] = []
        too_large: list[DeadLetter] = []

        def delivered_for(letter: DeadLetter) -> Any:
            def delivered(error: Any, _message: Any) -> None:
                if error is None:
                    return
                if error.code() == KafkaError.MSG_SIZE_TOO_LARGE and len(letter.raw) > SMALL_RAW:
                    too_large.append(letter)
                else:
                    failures.append(str(error))
            return delivered

        for letter in letters:
            self._produce(producer, letter, delivered_for(letter))
            log.warning(
                "Record sent to the dead letters.",
                extra={"topic": letter.topic, "partition": letter.partition, "offset": letter.offset, "error": letter.error},
            )
        remaining = producer.flush(self._timeout)
        # The broker takes smaller messages than this topic's records: keep the start of the bytes rather than stall.
        for letter in too_large:
            cut = _cut(letter)
            self._produce(producer, cut, delivered_for(cut))
        if too_large:
            remaining = producer.flush(self._timeout)
        if remaining or failures:
            reason = failures[0] if failures else f"{remaining} not acknowledged within {self._timeout} s"
            raise SinkError(f"publishing dead letters failed: {reason}", retriable=True)

    def _produce(self, producer: Producer, letter: DeadLetter, on_delivery: Any) -> None:
        headers: list[tuple[str, str | bytes | None]] = [
            ("logferry.source.topic", letter.topic.encode()),
            ("logferry.source.partition", str(letter.partition).encode()),
            ("logferry.source.offset", str(letter.offset).encode()),
            ("logferry.error", letter.error.encode()),
            ("logferry.size", str(letter.size).encode()),
        ]
        while True:
            try:
                producer.produce(
                    self._kafka.deadletter_topic(letter.topic), value=letter.raw, key=letter.key,
                    headers=headers, on_delivery=on_delivery,
                )
                return
            except BufferError:
                producer.poll(0.1)
            except KafkaException as error:
                if error.args[0].code() == KafkaError.MSG_SIZE_TOO_LARGE and len(letter.raw) > SMALL_RAW:
                    letter = _cut(letter)
                    continue
                raise SinkError(f"cannot publish a dead letter: {error}", retriable=True) from error

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(self._timeout)
            self._producer = None


def _cut(letter: DeadLetter) -> DeadLetter:
    return replace(letter, raw=letter.raw[:SMALL_RAW], error=letter.error + " (raw bytes cut to fit the dead-letter topic)")
