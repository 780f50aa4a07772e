"""`replay`: move the group back (or forward) like `kafka-consumer-groups --reset-offsets`, on Kafka's committed
offsets and on the SQLite sink's stored offsets together.

Targets: --to-earliest (log start), --to-datetime T (first record at or after T; the log end when none),
--by-duration D (the same for now - D), --to-offset N, --shift-by N (from the current offset: the sink's stored
offset when it keeps offsets, else the committed one, else the log start). Every target is clamped to the
partition's [log start, log end], as kafka-consumer-groups does.

It refuses while the group has active members: a running worker would overwrite the reset with its own commits
and stored offsets. The refusal names each member and, for a worker of this host, whether its process still runs,
when it was last alive (its worker index file's heartbeat) and when its session expires; a killed worker stays a
member until then. `--force-after-expiry` waits (up to session_timeout_ms + a margin) until such stale members are
dropped and the group is empty, then replays; it refuses at once when a member's process is seen running here.
Re-indexing the range afterwards adds no duplicates: the index skips (SQLite) or overwrites
(OpenSearch) events it already holds.
"""

import logging
import sys
import time
from dataclasses import dataclass
from typing import TextIO

from consumer.config import ConsumerConfig
from consumer.kafka_admin import GroupAdmin, GroupMember
from consumer.membership import SlotRecord, client_process, slot_directory, slot_records
from consumer.records import TopicPartitionKey
from consumer.sinks.registry import open_reader
from consumer.timeargs import parse_time_ns
from logferry.durations import parse_duration
from logferry.errors import LogferryError

log = logging.getLogger(__name__)


class ReplayRefused(LogferryError):
    """The replay cannot be applied as asked (active group, unknown topic). Retriable once the cause is gone."""

    retriable = True


@dataclass(frozen=True)
class Reset:
    """How to move: `mode` is earliest, datetime, duration, offset or shift; `value` its argument."""

    mode: str
    value: str = ""


@dataclass(frozen=True)
class PlannedMove:
    topic: str
    partition: int
    current: int | None
    target: int


def plan(config: ConsumerConfig, reset: Reset, topic: str | None, partition: int | None) -> list[PlannedMove]:
    """Where each selected partition would move; ReplayRefused/ValueError when the request makes no sense."""
    topics = list(config.kafka.topics)
    if topic is not None:
        if not config.kafka.indexes(topic):
            raise ReplayRefused(f"topic {topic!r} is not one of the configured topics ({', '.join(topics)})")
        topics = [topic]
    admin = GroupAdmin(config)
    reader = open_reader(config)
    try:
        keys = admin.partitions(topics)
        if partition is not None:
            keys = [k for k in keys if k[1] == partition]
            if not keys:
                raise ReplayRefused(f"partition {partition} does not exist in {', '.join(topics)}")
        if not keys:
            raise ReplayRefused(f"no partitions found for {', '.join(topics)}")
        facts = {(f.topic, f.partition): f for f in admin.facts(keys)}
        stored = reader.stored_offsets()
        at_time: dict[TopicPartitionKey, int] = {}
        if reset.mode in ("datetime", "duration"):
            now_ns = time.time_ns()
            when_ns = (parse_time_ns(reset.value, now_ns) if reset.mode == "datetime"
                       else now_ns - int(parse_duration(reset.value) * 1e9))
            at_time = admin.offsets_for_time(keys, when_ns // 1_000_000)
        moves = []
        for key in keys:
            fact = facts[key]
            current = stored.get(key) if stored is not None else fact.committed
            if reset.mode == "earliest":
                target = fact.low
            elif reset.mode in ("datetime", "duration"):
                found = at_time.get(key, -1)
                target = found if found >= 0 else fact.high
            elif reset.mode == "offset":
                target = int(reset.value)
            elif reset.mode == "shift":
                target = (current if current is not None else fact.low) + int(reset.value)
            else:
                raise ValueError(f"unknown reset mode {reset.mode!r}")
            moves.append(PlannedMove(key[0], key[1], current, min(max(target, fact.low), fact.high)))
        return moves
    finally:
        reader.close()
        admin.close()


EXPIRY_MARGIN = 30.0  # seconds --force-after-expiry waits beyond the session timeout
WAIT_POLL = 1.0  # seconds between looks at the group while waiting


def describe_member(config: ConsumerConfig, member: GroupMember, slots: dict[str, SlotRecord], now: float) -> str:
    """Which member, whether it runs, since when it is gone and when its session expires, as far as is known here."""
    session = config.kafka.session_timeout_ms / 1000
    name = member.client_id + (f" (static {member.group_instance_id})" if member.group_instance_id else "")
    where = f"{name} at {member.host}"
    if member.partitions:
        where += f" holding {', '.join(f'{t}[{p}]' for t, p in member.partitions)}"
    slot = slots.get(member.group_instance_id or "")
    process = client_process(member.client_id)
    running = process.running() if process is not None else None
    if running and process is not None:
        return f"{where}: its process {process.pid} runs on this host"
    facts = []
    if running is False and process is not None:
        facts.append(f"its process {process.pid} on this host has exited")
    if slot is not None and slot.client_id == member.client_id:
        facts.append(f"last alive at {_utc(slot.last_alive)}")
        expires = slot.last_alive + session
        facts.append(f"its session expires at {_utc(expires)}" if expires > now else
                     "its session should expire any moment")
    elif running is False:
        facts.append(f"its session expires by {_utc(now + session)} at the latest")
    else:
        facts.append(f"if it is not running, its session expires within {session:.0f} s of its last heartbeat")
    return f"{where}: {', '.join(facts)}"


def refusal(config: ConsumerConfig, members: list[GroupMember]) -> str:
    now = time.time()
    slots = slot_records(slot_directory(config), config.kafka.group_id)
    described = "; ".join(describe_member(config, m, slots, now) for m in members)
    return (f"the group {config.kafka.group_id!r} has {len(members)} active member(s): {described}; stop every "
            "worker of the group, then replay, or add --force-after-expiry to wait until stale members expire")


def _running_here(member: GroupMember) -> bool:
    process = client_process(member.client_id)
    return process is not None and process.running() is True


def wait_for_empty_group(config: ConsumerConfig, admin: GroupAdmin) -> list[GroupMember]:
    """Wait until the group has no member, up to the session timeout + a margin; the members left (empty: go on)."""
    deadline = time.monotonic() + config.kafka.session_timeout_ms / 1000 + EXPIRY_MARGIN
    members = admin.members()
    while members and time.monotonic() < deadline and not any(_running_here(m) for m in members):
        log.info("Waiting for the group's stale members to expire.",
                 extra={"group_id": config.kafka.group_id, "members": [m.client_id for m in members],
                        "gives_up_in_s": round(deadline - time.monotonic())})
        time.sleep(WAIT_POLL)
        members = admin.members()
    return members


def _utc(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


def apply(config: ConsumerConfig, moves: list[PlannedMove], *, force_after_expiry: bool = False) -> None:
    """Set Kafka's committed offsets and the sink's stored offsets to the targets; refuses for an active group
    (with `force_after_expiry`: once waiting for its stale members to expire did not empty it)."""
    admin = GroupAdmin(config)
    try:
        members = wait_for_empty_group(config, admin) if force_after_expiry else admin.members()
        if members:
            raise ReplayRefused(refusal(config, members))
        targets = {(m.topic, m.partition): m.target for m in moves}
        admin.set_committed(targets)
    finally:
        admin.close()
    reader = open_reader(config)
    try:
        reader.set_offsets(targets)
    finally:
        reader.close()


def print_plan(moves: list[PlannedMove], dry_run: bool, out: TextIO = sys.stdout) -> None:
    out.write(f"{'topic':<30} {'part':>4} {'current':>12} {'target':>12}\n")
    for move in moves:
        current = "-" if move.current is None else str(move.current)
        out.write(f"{move.topic:<30} {move.partition:>4} {current:>12} {move.target:>12}\n")
    again = sum(max(0, (m.current or 0) - m.target) for m in moves)
    verb = "would be" if dry_run else "will be"
    out.write(f"{again} records {verb} read again{' (dry run: nothing changed)' if dry_run else ''}\n")


def check_group_empty(config: ConsumerConfig) -> None:
    """ReplayRefused while the group has members: said before the plan, so a refused replay prints no plan."""
    admin = GroupAdmin(config)
    try:
        members = admin.members()
    finally:
        admin.close()
    if members:
        raise ReplayRefused(refusal(config, members))


def confirmed(question: str, stdin: TextIO = sys.stdin, out: TextIO = sys.stderr) -> bool:
    """Whether the user answers yes to `question` on a terminal; False without one (then --yes is needed)."""
    if not stdin.isatty():
        return False
    out.write(f"{question} [y/N] ")
    out.flush()
    return stdin.readline().strip().lower() in ("y", "yes")


def run_replay(config: ConsumerConfig, reset: Reset, topic: str | None, partition: int | None, dry_run: bool, *,
               force_after_expiry: bool = False, yes: bool = False) -> int:
    if not dry_run and not force_after_expiry:
        check_group_empty(config)
    moves = plan(config, reset, topic, partition)
    print_plan(moves, dry_run)
    if not dry_run:
        if not yes and not confirmed("Apply these offsets?"):
            print("replay not applied: add --yes to apply this plan (or --dry-run to only show it)", file=sys.stderr)
            return 2
        apply(config, moves, force_after_expiry=force_after_expiry)
        log.info("Offsets reset.", extra={"group_id": config.kafka.group_id, "partitions": len(moves)})
    return 0
