"""Group and partition facts from Kafka for status and replay: partitions, watermarks, committed offsets, members.

Nothing here joins the group: a consumer created with the group id but never subscribed only reads.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from consumer.config import ConsumerConfig
from consumer.records import TopicPartitionKey

TIMEOUT = 15.0


@dataclass(frozen=True)
class PartitionFacts:
    topic: str
    partition: int
    low: int
    high: int
    committed: int | None


@dataclass(frozen=True)
class GroupMember:
    """One member of the group: ids, the client's address, and the partitions assigned to it."""

    member_id: str
    client_id: str
    host: str
    group_instance_id: str | None
    partitions: tuple[TopicPartitionKey, ...]


class GroupAdmin:
    """Reads (and for replay, sets) the group's committed offsets."""

    def __init__(self, config: ConsumerConfig) -> None:
        self._config = config
        base = config.kafka.client_config()
        self._admin = AdminClient(base)
        # A reader with the group id for committed(); a separate client id makes it easy to tell apart.
        self._reader = Consumer({**base, "group.id": config.kafka.group_id, "enable.auto.commit": False,
                                 "client.id": f"logferry-admin-{uuid.uuid4().hex[:6]}"})

    def partitions(self, topics: list[str]) -> list[TopicPartitionKey]:
        """The partitions of `topics`; an entry starting with ^ stands for the indexed topics it matches."""
        metadata = self._admin.list_topics(timeout=TIMEOUT)
        if any(t.startswith("^") for t in topics):
            matched = [t for t in sorted(metadata.topics) if self._config.kafka.indexes(t) and t not in topics]
            topics = [*(t for t in topics if not t.startswith("^")), *matched]
        found: list[TopicPartitionKey] = []
        for topic in topics:
            info = metadata.topics.get(topic)
            if info is None or info.error is not None:
                continue
            found.extend((topic, p) for p in sorted(info.partitions))
        return found

    def facts(self, partitions: list[TopicPartitionKey]) -> list[PartitionFacts]:
        committed = self.committed(partitions)
        rows = []
        for topic, partition in partitions:
            low, high = self._reader.get_watermark_offsets(TopicPartition(topic, partition), timeout=TIMEOUT)
            rows.append(PartitionFacts(topic, partition, low, high, committed.get((topic, partition))))
        return rows

    def committed(self, partitions: list[TopicPartitionKey]) -> dict[TopicPartitionKey, int]:
        if not partitions:
            return {}
        result = self._reader.committed([TopicPartition(t, p) for t, p in partitions], timeout=TIMEOUT)
        return {(tp.topic, tp.partition): tp.offset for tp in result if tp.offset >= 0}

    def offsets_for_time(self, partitions: list[TopicPartitionKey], ms: int) -> dict[TopicPartitionKey, int]:
        """The first offset at or after `ms` per partition; -1 where no record is that recent."""
        result = self._reader.offsets_for_times([TopicPartition(t, p, ms) for t, p in partitions], timeout=TIMEOUT)
        return {(tp.topic, tp.partition): tp.offset for tp in result}

    def members(self) -> list["GroupMember"]:
        """The group's members as the coordinator sees them (a killed one stays until its session expires)."""
        future = self._admin.describe_consumer_groups([self._config.kafka.group_id])[self._config.kafka.group_id]
        description: Any = future.result(timeout=TIMEOUT)
        found = []
        for member in description.members:
            assignment = getattr(member, "assignment", None)
            partitions = tuple(sorted((tp.topic, tp.partition) for tp in getattr(assignment, "topic_partitions", None) or []))
            found.append(GroupMember(member.member_id, member.client_id, member.host, member.group_instance_id, partitions))
        return found

    def active_members(self) -> list[str]:
        """Client ids (with hosts) of the group's members; empty when the group is inactive."""
        return [f"{m.client_id}@{m.host}" for m in self.members()]

    def set_committed(self, offsets: dict[TopicPartitionKey, int]) -> None:
        from confluent_kafka import ConsumerGroupTopicPartitions

        request = ConsumerGroupTopicPartitions(
            self._config.kafka.group_id, [TopicPartition(t, p, o) for (t, p), o in sorted(offsets.items())]
        )
        for future in self._admin.alter_consumer_group_offsets([request]).values():
            future.result(timeout=TIMEOUT)

    def close(self) -> None:
        try:
            self._reader.close()
        except KafkaException:
            pass
