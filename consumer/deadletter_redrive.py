"""Publishing dead letters again to their source topic (`deadletters redrive`).

Each letter's stored bytes go to the topic they came from, with the key they had (so an event's stream lands on
the partition its neighbours use), through an idempotent producer with acks=all: the broker writes each at most
once per send, and `redrive` returns only once every letter is acknowledged or has definitely failed
(delivery.timeout.ms below the flush deadline). A header `logferry.redriven.from` names the letter's position.

The index keeps an event once however many copies arrive: its event_id skips a second redrive (SQLite's UNIQUE
event_id, OpenSearch's `_id`). A redriven record the consumer still refuses becomes a new dead letter at its new
position.
"""

from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaException, Producer

from consumer.config import ConsumerKafka
from consumer.sinks.base import DeadLetterRecord

DELIVERY_TIMEOUT_MS = 60_000
FLUSH_TIMEOUT_S = DELIVERY_TIMEOUT_MS / 1000 + 30  # every delivery report arrives before this
REDRIVEN_FROM = "logferry.redriven.from"


@dataclass
class RedriveResult:
    """Letters the broker acknowledged, and those it did not with the reason."""

    published: list[DeadLetterRecord] = field(default_factory=list)
    failed: list[tuple[DeadLetterRecord, str]] = field(default_factory=list)


def redrive(kafka: ConsumerKafka, letters: list[DeadLetterRecord]) -> RedriveResult:
    """Publish `letters` (in this order) to their source topics and wait for every delivery report."""
    result = RedriveResult()
    if not letters:
        return result
    producer = Producer({
        **kafka.client_config(),
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "delivery.timeout.ms": DELIVERY_TIMEOUT_MS,
        "message.max.bytes": max(1_000_000, max(len(letter.raw) for letter in letters) + 65_536),
    })
    reported: set[int] = set()

    def report_for(index: int) -> Any:
        letter = letters[index]

        def delivered(error: Any, _message: Any) -> None:
            reported.add(index)
            if error is None:
                result.published.append(letter)
            else:
                result.failed.append((letter, str(error)))
        return delivered

    for index, letter in enumerate(letters):
        headers: list[tuple[str, str | bytes | None]] = [
            (REDRIVEN_FROM, f"{letter.topic}:{letter.partition}:{letter.offset}".encode())]
        while True:
            try:
                producer.produce(letter.topic, value=letter.raw, key=letter.key, headers=headers,
                                 on_delivery=report_for(index))
                break
            except BufferError:
                producer.poll(0.1)
            except KafkaException as error:
                reported.add(index)
                result.failed.append((letter, str(error)))
                break
    producer.flush(FLUSH_TIMEOUT_S)
    for index, letter in enumerate(letters):
        if index not in reported:
            result.failed.append((letter, f"not acknowledged within {FLUSH_TIMEOUT_S:.0f} s"))
    return result
