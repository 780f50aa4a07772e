"""`check-config --connect`: reach what a config names and say what is there (as `filebeat test output` does).

Each check returns its lines for people and whether it passed; nothing is created or changed.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from logferry.kafka import KafkaConnection, refusal
from logferry.logs import redact


@dataclass
class CheckReport:
    """What one --connect check found."""

    passed: bool = True
    lines: list[str] = field(default_factory=list)

    def fail(self, line: str) -> None:
        self.passed = False
        self.lines.append(line)


def check_kafka(connection: KafkaConnection, topics: list[str], *, timeout: float = 15.0) -> CheckReport:
    """Brokers reachable (and credentials accepted), and for each of `topics` whether it exists and its partitions; a
    topic starting with ^ is a pattern: the topics it matches are counted."""
    report = CheckReport()
    admin = AdminClient(connection.client_config())
    try:
        metadata: Any = admin.list_topics(timeout=timeout)
    except KafkaException as error:
        reason = error.args[0] if error.args else error
        report.fail(f"kafka: {refusal(reason) or 'no broker answered'} at {connection.bootstrap_servers} within "
                    f"{timeout:g} s: {redact(str(getattr(reason, 'str', lambda: reason)()))}")
        return report
    brokers = ", ".join(f"{b.id} {b.host}:{b.port}" for b in sorted(metadata.brokers.values(), key=lambda b: b.id))
    report.lines.append(f"kafka: connected to {len(metadata.brokers)} broker(s) ({brokers}), cluster {metadata.cluster_id}")
    for topic in topics:
        if topic.startswith("^"):
            matched = sorted(t for t in metadata.topics if re.search(topic, t))
            report.lines.append(f"kafka: pattern {topic!r} matches {len(matched)} topic(s)"
                                + (f": {', '.join(matched[:10])}{' ...' if len(matched) > 10 else ''}" if matched else ""))
            continue
        info = metadata.topics.get(topic)
        if info is None:
            report.lines.append(f"kafka: topic {topic!r} does not exist yet (created on first use if the brokers allow "
                                "auto.create.topics.enable, else create it)")
        elif info.error is not None:
            report.fail(f"kafka: topic {topic!r}: {redact(info.error.str())}")
        else:
            report.lines.append(f"kafka: topic {topic!r} has {len(info.partitions)} partition(s)")
    return report
