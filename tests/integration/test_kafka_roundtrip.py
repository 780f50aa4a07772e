"""An event survives a round trip through the real Kafka broker and still conforms to the schema."""

import time

import orjson
from confluent_kafka import Producer

from schemas import new_event, serialize, stream_id
from schemas.validate import schema_errors
from tests.support.kafka import read_topic


def test_event_round_trips_through_real_broker(kafka_bootstrap: str, kafka_topic: str) -> None:
    stream = stream_id("host-1", "dev:1/ino:42")
    sent = [
        new_event(
            stream=stream, offset=offset, timestamp_ns=time.time_ns(), observed_ns=time.time_ns(),
            body=f"line {offset}", resource={"host.name": "h", "host.id": "host-1"}, input_id="app",
            log_format="plain", attributes={"log.file.path": "/var/log/a.log", "log.file.record_offset": offset},
        )
        for offset in (0, 7, 14)
    ]
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True, "acks": "all"})
    failures: list[object] = []
    for event in sent:
        producer.produce(
            kafka_topic, key=stream.encode(), value=serialize(event),
            headers=[("schema_version", b"1"), ("event_id", event["event_id"].encode())],
            on_delivery=lambda err, _msg: failures.append(err) if err else None,
        )
    assert producer.flush(30) == 0
    assert failures == []

    messages = read_topic(kafka_bootstrap, kafka_topic, expected=3)
    received = [orjson.loads(m.value()) for m in messages]  # type: ignore[attr-defined]
    assert sorted(received, key=lambda e: e["event_id"]) == sent
    for message, event in zip(messages, received, strict=True):
        assert schema_errors(event) == []
        assert dict(message.headers())["event_id"] == event["event_id"].encode()  # type: ignore[attr-defined]
    # One key, one partition: a file's events stay in order.
    assert len({m.partition() for m in messages}) == 1  # type: ignore[attr-defined]
