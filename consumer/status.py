"""`status`: per partition the stored and committed offsets and the lag, plus indexed_events, the oldest event kept
(`oldest_event`, its timestamp: what retention has left; null when the index is empty), dead_letters and conflicts
(event ids that arrived again with different content; the latest few are listed), and the group's members.

The index's own figures are local (the SQLite file, or the search engine): with the brokers down, status still
prints them, `kafka.available` is false with the reason, and what only Kafka knows (committed and end offsets, lag,
members) is null."""

import sys
from typing import Any, TextIO

import orjson
from confluent_kafka import KafkaError, KafkaException

from consumer.config import ConsumerConfig
from consumer.kafka_admin import GroupAdmin, PartitionFacts
from consumer.sinks.registry import open_reader

LATEST_CONFLICTS = 10  # conflicts listed by `status`; the conflicts table (or index) has them all


def collect_status(config: ConsumerConfig) -> dict[str, Any]:
    """The status as a JSON-ready dict."""
    reader = open_reader(config)
    try:
        stored = reader.stored_offsets()
        indexed, dead = reader.totals()
        oldest = reader.oldest_timestamp()
        conflicts, latest_conflicts = reader.conflicts(LATEST_CONFLICTS)
    finally:
        reader.close()
    facts: list[PartitionFacts] | None = None
    members: list[dict[str, Any]] | None = None
    kafka: dict[str, Any] = {"available": True, "error": None}
    try:
        admin = GroupAdmin(config)
        try:
            facts = admin.facts(admin.partitions(list(config.kafka.topics)))
            members = [{"client_id": m.client_id, "host": m.host, "group_instance_id": m.group_instance_id,
                        "partitions": [{"topic": t, "partition": p} for t, p in m.partitions]} for m in admin.members()]
        finally:
            admin.close()
    except KafkaException as error:
        kafka = {"available": False, "error": _reason(error)}
    partitions: list[dict[str, Any]] = []
    if facts is None:
        for (topic, partition), offset in sorted((stored or {}).items()):
            partitions.append({"topic": topic, "partition": partition, "stored_offset": offset, "committed_offset": None,
                               "log_start_offset": None, "log_end_offset": None, "lag": None})
    for fact in facts or []:
        key = (fact.topic, fact.partition)
        stored_offset = stored.get(key) if stored is not None else None
        position = stored_offset if stored is not None else fact.committed
        partitions.append({
            "topic": fact.topic, "partition": fact.partition,
            "stored_offset": stored_offset, "committed_offset": fact.committed,
            "log_start_offset": fact.low, "log_end_offset": fact.high,
            "lag": max(0, fact.high - (position if position is not None else fact.low)),
        })
    return {
        "group_id": config.kafka.group_id, "sink": config.sink.type, "kafka": kafka, "partitions": partitions,
        "total_lag": None if facts is None else sum(p["lag"] for p in partitions), "members": members,
        "indexed_events": indexed, "oldest_event": oldest, "dead_letters": dead,
        "conflicts": conflicts, "latest_conflicts": latest_conflicts,
    }


def _reason(error: KafkaException) -> str:
    first = error.args[0] if error.args else None
    return str(first.str()) if isinstance(first, KafkaError) else str(error)


def print_status(status: dict[str, Any], as_json: bool, out: TextIO = sys.stdout) -> None:
    if as_json:
        out.write(orjson.dumps(status).decode() + "\n")
        return
    out.write(f"group {status['group_id']} -> {status['sink']}\n")
    if not status["kafka"]["available"]:
        out.write(f"kafka: unavailable ({status['kafka']['error']}); the index's own figures follow\n")
    out.write(f"{'topic':<30} {'part':>4} {'stored':>12} {'committed':>12} {'end':>12} {'lag':>10}\n")
    for p in status["partitions"]:
        stored = "-" if p["stored_offset"] is None else p["stored_offset"]
        committed = "-" if p["committed_offset"] is None else p["committed_offset"]
        end = "-" if p["log_end_offset"] is None else p["log_end_offset"]
        lag = "-" if p["lag"] is None else p["lag"]
        out.write(f"{p['topic']:<30} {p['partition']:>4} {stored!s:>12} {committed!s:>12} {end!s:>12} {lag!s:>10}\n")
    if status["members"] is not None:
        out.write(f"members {len(status['members'])}\n")
        for m in status["members"]:
            owned = ", ".join(f"{p['topic']}[{p['partition']}]" for p in m["partitions"]) or "no partitions"
            instance = f" ({m['group_instance_id']})" if m["group_instance_id"] else ""
            out.write(f"member {m['client_id']}{instance} on {m['host']}: {owned}\n")
    for name in ("indexed_events", "oldest_event", "dead_letters", "conflicts", "total_lag"):
        value = status[name]
        out.write(f"{name} {'-' if value is None else value}\n")
    for c in status["latest_conflicts"]:
        kept, rejected = c["kept"], c["rejected"]
        out.write(f"conflict {c['event_id']} at {c['detected_at']}: kept {kept['topic']}[{kept['partition']}]@"
                  f"{kept['offset']}, rejected {rejected['topic']}[{rejected['partition']}]@{rejected['offset']}\n")


def run_status(config: ConsumerConfig, as_json: bool) -> int:
    print_status(collect_status(config), as_json)
    return 0
