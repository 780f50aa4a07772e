"""`status`: per partition the stored and committed offsets and the lag, plus indexed_events, the oldest event kept
(`oldest_event`, its timestamp: what retention has left; null when the index is empty), dead_letters and conflicts
(event ids that arrived again with different content; the latest few are listed)."""

import sys
from typing import Any, TextIO

import orjson

from consumer.config import ConsumerConfig
from consumer.kafka_admin import GroupAdmin
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
    admin = GroupAdmin(config)
    try:
        facts = admin.facts(admin.partitions(list(config.kafka.topics)))
    finally:
        admin.close()
    partitions = []
    for fact in facts:
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
        "group_id": config.kafka.group_id, "sink": config.sink.type, "partitions": partitions,
        "total_lag": sum(p["lag"] for p in partitions), "indexed_events": indexed, "oldest_event": oldest,
        "dead_letters": dead,
        "conflicts": conflicts, "latest_conflicts": latest_conflicts,
    }


def print_status(status: dict[str, Any], as_json: bool, out: TextIO = sys.stdout) -> None:
    if as_json:
        out.write(orjson.dumps(status).decode() + "\n")
        return
    out.write(f"group {status['group_id']} -> {status['sink']}\n")
    out.write(f"{'topic':<30} {'part':>4} {'stored':>12} {'committed':>12} {'end':>12} {'lag':>10}\n")
    for p in status["partitions"]:
        stored = "-" if p["stored_offset"] is None else p["stored_offset"]
        committed = "-" if p["committed_offset"] is None else p["committed_offset"]
        end, lag = p["log_end_offset"], p["lag"]
        out.write(f"{p['topic']:<30} {p['partition']:>4} {stored!s:>12} {committed!s:>12} {end:>12} {lag:>10}\n")
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
