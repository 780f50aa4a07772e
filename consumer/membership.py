"""Who a worker is in its consumer group: its client id, its static membership (group.instance.id), and how it
leaves the group for good.

Static membership (KIP-345): a long-running worker joins with a group.instance.id that stays the same across its
restarts on this host. When it dies (kill -9, OOM, power loss), the coordinator keeps its partitions for it until
`session_timeout_ms` passes; started again within that time, it takes them back at once, without a rebalance of
the other members. The id is `logferry-<host name>-<first 8 of the host id>-<worker index>`:
- the host id is the OS machine id (logferry/hostid.py), else the host name alone; the host name is there too
  because cloned VMs and container images often share one machine id;
- the worker index is `[consumer] worker_index`, or by default the lowest number no running worker of the same
  group on this host holds (an exclusive lock on a small file, released by the OS when the process ends, even on
  kill -9), so several workers started from one config file get different ids, and one restarted gets its old one;
  a configured index is locked the same way, so a second worker with the same index stops at start instead of
  fencing the first;
- `[kafka] group_instance_id` replaces the whole id; `[kafka] static_membership = false` turns it off.

`run --once` joins as a dynamic member (unless group_instance_id is set): a batch run must never take over the id of
the host's long-running worker (the coordinator would fence one of the two).

Leaving for good: librdkafka does not send LeaveGroup when a static member closes (KIP-345), so a stopping worker
unsubscribes first and serves the revocation, which does send it; only then it closes. A crashed worker sends
nothing, which is the point.

Fenced by itself: a static member whose join the coordinator processes after the client gave up on it (a
coordinator stalled loading its state after a restart, on a loaded host) is fenced by its own abandoned join: the
coordinator gives the instance id to the member that join created, and librdkafka makes FENCED_INSTANCE_ID fatal.
Another worker with the same instance id fences it the same way, and the coordinator's description of the group cannot
tell the two apart (a replacing static member keeps the client id and host of the member it replaced). Time does:
nobody heartbeats the member of an abandoned join, so it expires with its session, while another worker's stays.
The fenced worker waits that long (`instance_held`); then it rejoins with a new client after a delay, a bounded number
of times in a row, or reports the other worker as before (`Fencings`). The worker index lock rules out a second worker
with the same derived id on this host, but not a cloned host, nor a configured group_instance_id used twice.

Given to nobody: a static member killed between the two steps of a cooperative rebalance and restarted within the
session timeout leaves the partitions it was giving up assigned to no member of a stable group, for good
(`UnownedWatch`); one member then leaves and joins again, and the rebalance that follows assigns them.
"""

import enum
import logging
import os
import re
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
from confluent_kafka import Consumer, ConsumerGroupState, KafkaError
from confluent_kafka.admin import AdminClient

from consumer.config import ConsumerConfig
from logferry.errors import LogferryError
from logferry.hostid import os_machine_id

log = logging.getLogger(__name__)

CLIENT_PREFIX = "logferry-consumer-"
MAX_SLOTS = 1024  # automatic worker indexes tried before giving up
HEARTBEAT_INTERVAL = 1.0  # seconds between touches of a held worker index file
LEAVE_TIMEOUT = 10.0  # seconds a leaving worker serves the revocation before it closes anyway
# Seconds close() may take. With the coordinator unreachable librdkafka's close() can block for good
# (confluentinc/librdkafka#4519); a stopping worker must stop all the same.
CLOSE_TIMEOUT = 20.0
REJOIN_DELAY = 2.0  # seconds before the first rejoin after being fenced by itself; doubles with each one in a row
REJOIN_DELAY_MAX = 30.0
REJOINS_IN_A_ROW = 5  # fenced by itself this many times, each within FENCING_QUIET of the last: it stops instead
FENCING_QUIET = 600.0  # seconds without a fencing after which the count starts again
# Seconds on top of the session timeout a fenced worker waits for the member that took its instance id to expire.
EXPIRY_MARGIN = 5.0
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def host_name() -> str:
    """This host's name as it appears in ids: letters, digits, '.', '_' and '-' only."""
    return _UNSAFE.sub("-", socket.gethostname()).strip("-")[:64] or "host"


def client_id(pid: int | None = None) -> str:
    """The client.id of a worker process: names the host and the process."""
    return f"{CLIENT_PREFIX}{host_name()}-{os.getpid() if pid is None else pid}"


@dataclass(frozen=True)
class ClientProcess:
    """The host name and process id a worker's client id names."""

    host: str
    pid: int

    @property
    def local(self) -> bool:
        return self.host == host_name()

    def running(self) -> bool | None:
        """Whether the process still runs; None when it is not on this host (no way to tell from here)."""
        if not self.local:
            return None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # it exists, under another user
        except OSError:
            return None
        return True


def client_process(client: str) -> ClientProcess | None:
    """What a member's client id says about its process; None for clients that are not logferry workers."""
    if not client.startswith(CLIENT_PREFIX):
        return None
    host, _, pid = client[len(CLIENT_PREFIX):].rpartition("-")
    if not host or not pid.isdigit():
        return None
    return ClientProcess(host, int(pid))


def derived_instance_id(worker_index: int, machine_id: str | None = None) -> str:
    """The group.instance.id of worker `worker_index` on this host."""
    machine = machine_id if machine_id is not None else (os_machine_id() or "")
    machine = _UNSAFE.sub("", machine)[:8]
    return "-".join(part for part in ("logferry", host_name(), machine, str(worker_index)) if part)[:249]


@dataclass
class WorkerSlot:
    """An automatic worker index, held by an exclusive lock on its file for as long as the process runs.

    The file also says who holds it (instance id, client id, pid) and, by its modification time, when the holder was
    last alive: a thread touches it every HEARTBEAT_INTERVAL. After a kill -9 the time stays, so `replay` can say since
    when a stale member has been gone and when its session expires."""

    index: int
    path: Path
    handle: IO[bytes] | None = field(default=None, repr=False)
    _stopped: threading.Event = field(default_factory=threading.Event, repr=False)

    def announce(self, instance_id: str, client: str) -> None:
        """Write who holds the slot and start the heartbeat."""
        if self.handle is None:
            return
        try:
            self.handle.seek(0)
            self.handle.truncate()
            self.handle.write(orjson.dumps({"group_instance_id": instance_id, "client_id": client, "pid": os.getpid(),
                                            "started": time.time()}))
            self.handle.flush()
        except OSError:  # only informative (replay's refusal message); the lock is what matters
            pass
        threading.Thread(target=self._beat, name="member-heartbeat", daemon=True).start()

    def _beat(self) -> None:
        while not self._stopped.wait(HEARTBEAT_INTERVAL):
            try:
                os.utime(self.path)
            except OSError:
                pass

    def release(self) -> None:
        self._stopped.set()
        if self.handle is not None:
            self.handle.close()  # closing drops the lock
            self.handle = None


@dataclass(frozen=True)
class SlotRecord:
    """What a worker index file says about its last holder."""

    group_instance_id: str
    client_id: str
    pid: int
    last_alive: float  # Unix time of the last heartbeat


def slot_records(directory: Path, group_id: str) -> dict[str, SlotRecord]:
    """By group.instance.id, the holders the worker index files of `group_id` in `directory` name."""
    found: dict[str, SlotRecord] = {}
    for path in directory.glob(f".logferry-worker-{_slot_group(group_id)}-*.lock"):
        try:
            info = orjson.loads(path.read_bytes())
            record = SlotRecord(str(info["group_instance_id"]), str(info["client_id"]), int(info["pid"]),
                                path.stat().st_mtime)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        found[record.group_instance_id] = record
    return found


def _slot_group(group_id: str) -> str:
    return _UNSAFE.sub("_", group_id)[:100]


def slot_directory(config: ConsumerConfig) -> Path:
    """Where the worker index locks of this config live: beside the SQLite index (workers sharing a database share
    this directory, even with a private /tmp each), else in the temporary directory."""
    local = config.sink.local_directory()
    if local is not None:
        return local
    return Path(tempfile.gettempdir()) / f"logferry-consumer-{os.getuid() if hasattr(os, 'getuid') else 'user'}"


class SlotTaken(LogferryError):
    """The configured worker index is held by another running worker of the group on this host."""


def take_slot(directory: Path, group_id: str, index: int | None = None) -> WorkerSlot:
    """The lowest worker index of `group_id` that no running process on this host holds; with `index`, that one, or
    SlotTaken (two workers with one index would have one group.instance.id and fence each other)."""
    directory.mkdir(parents=True, exist_ok=True)
    group = _slot_group(group_id)
    for candidate in range(MAX_SLOTS) if index is None else (index,):
        path = directory / f".logferry-worker-{group}-{candidate}.lock"
        handle = open(path, "a+b")  # noqa: SIM115 - held open for the life of the slot
        if _try_lock(handle):
            return WorkerSlot(candidate, path, handle)
        handle.close()
    if index is not None:
        raise SlotTaken(f"consumer.worker_index {index} is held by another running worker of group {group_id!r} on "
                        "this host; give each worker its own worker_index (or -1 for the lowest free one)")
    raise SlotTaken(f"all {MAX_SLOTS} worker indexes of group {group_id!r} in {directory} are taken")


def _try_lock(handle: IO[bytes]) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


@dataclass
class Membership:
    """How this process joins its group: client id, and the static instance id when it has one."""

    client_id: str
    instance_id: str | None
    slot: WorkerSlot | None = None

    @property
    def static(self) -> bool:
        return self.instance_id is not None

    def settings(self) -> dict[str, Any]:
        """The librdkafka properties of this membership."""
        settings: dict[str, Any] = {"client.id": self.client_id}
        if self.instance_id is not None:
            settings["group.instance.id"] = self.instance_id
        return settings

    def release(self) -> None:
        if self.slot is not None:
            self.slot.release()


def membership_for(config: ConsumerConfig, *, once: bool) -> Membership:
    """The membership a worker of `config` joins with (see the module docstring)."""
    kafka = config.kafka
    if kafka.group_instance_id:
        return Membership(client_id(), kafka.group_instance_id)
    if once or not kafka.static_membership:
        return Membership(client_id(), None)
    index = config.consumer.worker_index
    slot = take_slot(slot_directory(config), kafka.group_id, index if index >= 0 else None)
    membership = Membership(client_id(), derived_instance_id(slot.index), slot)
    slot.announce(str(membership.instance_id), membership.client_id)
    return membership


def _fatal_text(error: Any) -> str | None:
    """The text of `error` (a confluent_kafka KafkaError) when it is fatal, else None."""
    try:
        # A consumed message carries the fatal error as code _FATAL, without the fatal flag.
        fatal = bool(error.fatal()) or error.code() == KafkaError._FATAL
        text = str(error.str())
    except AttributeError:
        return None
    return text if fatal else None


def is_fencing(error: Any, membership: Membership | None) -> bool:
    """Whether `error` is the fatal FENCED_INSTANCE_ID of a static member: another member holds its instance id."""
    text = _fatal_text(error)
    return text is not None and "fenced" in text.lower() and membership is not None and membership.static


def fatal_reason(error: Any, membership: Membership | None) -> str | None:
    """A sentence when `error` (a confluent_kafka KafkaError) is fatal: the client is unusable and the worker must stop.
    A fencing (`is_fencing`) is decided by `Fencings` instead, once it is known who holds the instance id."""
    text = _fatal_text(error)
    if text is None:
        return None
    if is_fencing(error, membership):
        return fenced_by_another(str(membership.instance_id if membership else ""))
    return f"Kafka reported a fatal error: {text}"


def fenced_by_another(instance_id: str) -> str:
    """The sentence of a worker fenced by another worker with its instance id."""
    return (f"Kafka fenced this worker: another worker joined the group with the same group.instance.id "
            f"{instance_id!r}; give each worker its own [consumer] worker_index or [kafka] group_instance_id")


def instance_held(client_config: dict[str, Any], group_id: str, instance_id: str, deadline: float,
                  should_stop: Callable[[], bool] = lambda: False) -> bool | None:
    """Whether a member of `group_id` still holds `instance_id` at `deadline` (time.monotonic()): False as soon as none
    does; None when the coordinator did not answer (asked again every second after transient errors, such as a
    coordinator still loading) or a stop was requested."""
    admin = AdminClient({**client_config, "client.id": f"{CLIENT_PREFIX}fencing-{os.getpid()}"})
    held: bool | None = None
    while not should_stop():
        remaining = deadline - time.monotonic()
        try:
            timeout = max(1.0, min(remaining, 10.0))
            future = admin.describe_consumer_groups([group_id], request_timeout=timeout)[group_id]
            description: Any = future.result(timeout=timeout + 1.0)
        except Exception as error:  # KafkaException or a timeout
            log.debug("Describing the group failed; asking again.", extra={"error": str(error)})
        else:
            held = any(getattr(m, "group_instance_id", None) == instance_id for m in description.members)
            if not held:
                return False
        if time.monotonic() >= deadline:
            return held
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    return None


class FencedBy(enum.Enum):
    """What fenced a worker, told by whether the member holding its instance id outlives a session timeout."""

    OWN_JOIN = "own_join"  # it expired: nobody heartbeats it, so it is a join of this worker's own, processed late
    ANOTHER_WORKER = "another_worker"  # it is still there: a live worker heartbeats with the same instance id
    UNKNOWN = "unknown"  # the coordinator did not say


@dataclass(frozen=True)
class FencingVerdict:
    """What a fenced worker does: rejoin after `rejoin_in` s, or (None) stop with `reason`."""

    fenced_by: FencedBy
    rejoin_in: float | None
    reason: str


_REJOIN_REASONS = {
    FencedBy.OWN_JOIN: "the member that fenced it expired with its session (nobody heartbeats it): a join of its own "
                       "that the coordinator processed after the client had given up on it",
    FencedBy.UNKNOWN: "the coordinator did not say whether another member holds its group.instance.id",
}


@dataclass
class Fencings:
    """The fencings of one static worker and what each leads to (its state: the fencings in a row and when the last was).

    After a fencing the worker waits for the member that took its instance id to expire (`instance_held` until a
    session timeout and a margin have passed). Still held then, a live worker heartbeats with the same instance id:
    it stops, saying so. Expired (or no answer: a live duplicate shows at the next fencing), it was a join of its own
    that the coordinator processed late: it rejoins after a delay that doubles with each fencing in a row, and the
    `REJOINS_IN_A_ROW`-th in a row stops it."""

    instance_id: str
    in_a_row: int = 0
    last: float = -1e18

    def verdict(self, held: bool | None, now: float) -> FencingVerdict:
        if held:
            return FencingVerdict(FencedBy.ANOTHER_WORKER, None, fenced_by_another(self.instance_id))
        who = FencedBy.OWN_JOIN if held is False else FencedBy.UNKNOWN
        if now - self.last >= FENCING_QUIET:
            self.in_a_row = 0
        self.in_a_row += 1
        self.last = now
        if self.in_a_row >= REJOINS_IN_A_ROW:
            return FencingVerdict(who, None, (
                f"Kafka fenced this worker {self.in_a_row} times in a row with its group.instance.id "
                f"{self.instance_id!r}; another worker with the same id may be running; give each worker its own "
                "[consumer] worker_index or [kafka] group_instance_id"))
        return FencingVerdict(who, min(REJOIN_DELAY_MAX, REJOIN_DELAY * 2 ** (self.in_a_row - 1)), _REJOIN_REASONS[who])


STALLED_REJOIN_MIN = 20.0  # seconds with no partitions after losing them all before the client is replaced (at least)
STALLED_REJOINS = 3  # replacements per loss; each waits twice as long as the one before


class RejoinWatch:
    """Whether a worker that lost all its partitions (its session timed out, as when the broker restarted) is stuck
    without them: librdkafka can keep its request to the group coordinator queued on a connection that never comes back
    up, and then never rejoins (seen on a loaded machine after a broker restart: 'GroupCoordinator: Timed out 0
    in-flight, 0 retry-queued, 1 out-queue' every socket timeout, for minutes). A new client joins at once.

    Armed only by a loss: a worker of a group with more workers than partitions may rightly hold none for ever, and
    replacing its client would make the whole group rebalance. The state is this object's alone."""

    def __init__(self, session_timeout_s: float) -> None:
        self._first_wait = max(STALLED_REJOIN_MIN, 2 * session_timeout_s)
        self._due_at: float | None = None
        self._wait = self._first_wait
        self._replaced = 0

    def lost_all(self, now: float) -> None:
        """The worker holds no partition any more because they were lost (not revoked)."""
        self._due_at = now + self._first_wait
        self._wait = self._first_wait
        self._replaced = 0

    def assigned(self) -> None:
        """The group gave the worker partitions: not stuck."""
        self._due_at = None

    def due(self, now: float) -> bool:
        """Whether the client should be replaced now."""
        return self._due_at is not None and now >= self._due_at

    def replaced(self, now: float) -> None:
        """The client was replaced: wait twice as long for the next look, and give up after STALLED_REJOINS."""
        self._replaced += 1
        self._wait *= 2
        self._due_at = now + self._wait if self._replaced < STALLED_REJOINS else None

    @property
    def waited(self) -> float:
        """Seconds the last wait lasted (for the log line)."""
        return self._wait


def leave_group(consumer: Consumer, membership: Membership, *, to_rejoin: bool = False) -> None:
    """Leave the group for good before `close()`, or (`to_rejoin`) before subscribing again. A dynamic member's close()
    sends LeaveGroup by itself; a static member's does not, so it unsubscribes and serves the revocation (whose end
    sends LeaveGroup) first, as any member does to rejoin."""
    if not membership.static and not to_rejoin:
        return
    try:
        consumer.unsubscribe()
        deadline = time.monotonic() + LEAVE_TIMEOUT
        while consumer.assignment() and time.monotonic() < deadline:
            consumer.poll(0.1)  # serves the revocation; a record it may still return is read again next time
        consumer.poll(0.1)  # lets the LeaveGroup request go out before close() stops the group handler
        left = not consumer.assignment()
    except Exception as error:  # leaving is best effort: the session expiring has the same end result, later
        left, reason = False, str(error)
    else:
        reason = f"the revocation did not end within {LEAVE_TIMEOUT:.0f} s"
    if left:
        log.info("Left the group.", extra={"group_instance_id": membership.instance_id})
    else:
        log.warning("Could not leave the group explicitly; the coordinator drops this member when its session expires.",
                    extra={"error": reason, "group_instance_id": membership.instance_id})


def close_consumer(consumer: Consumer, timeout: float = CLOSE_TIMEOUT) -> bool:
    """`consumer.close()`, waited for at most `timeout` s; False when it did not return in time (the broker does not
    answer: the coordinator drops the member when its session expires, and nothing below the stored or committed
    offsets is lost). Rebalance callbacks close() serves run on its thread while this one waits."""
    closer = threading.Thread(target=_close_quietly, args=(consumer,), name="consumer-close", daemon=True)
    closer.start()
    closer.join(timeout)
    if closer.is_alive():
        log.warning("Closing the Kafka consumer did not finish in time; stopping without waiting for it (the group "
                    "drops this member when its session expires).", extra={"timeout_s": timeout})
        return False
    return True


def _close_quietly(consumer: Consumer) -> None:
    try:
        consumer.close()
    except Exception as error:
        log.warning("Closing the Kafka consumer failed.", extra={"error": str(error)})


UNOWNED_LOOK_INTERVAL = 15.0  # seconds between two looks at who owns the group's partitions
UNOWNED_LOOKS = 2  # looks in a row with the group stable and the same partitions owned by nobody: the worker rejoins


def unowned_partitions(admin: AdminClient, config: ConsumerConfig) -> tuple[set[tuple[str, int]], list[Any]] | None:
    """The partitions of the group's topics that no member owns, and the members (confluent_kafka MemberDescription);
    None when the group is not stable (a rebalance is going on, or it is empty) or the broker did not answer. Topics
    are the configured ones; a pattern's topics only when some member owns a partition of them (a regular expression
    here might match a topic librdkafka's does not, and a rejoin cannot give a partition nobody subscribes to)."""
    kafka = config.kafka
    try:
        future = admin.describe_consumer_groups([kafka.group_id], request_timeout=10)[kafka.group_id]
        description: Any = future.result(timeout=15)
        metadata = admin.list_topics(timeout=10)
    except Exception as error:  # KafkaException or a timeout: look again next time
        log.debug("Looking at the group's assignment failed.", extra={"error": str(error)})
        return None
    if description.state != ConsumerGroupState.STABLE or not description.members:
        return None
    owned = {(tp.topic, tp.partition) for m in description.members for tp in m.assignment.topic_partitions}
    topics = {t for t in kafka.topics if not t.startswith("^")} | {t for t, _ in owned if kafka.indexes(t)}
    wanted = {(name, p) for name in topics if (topic := metadata.topics.get(name)) is not None and topic.error is None
              for p in topic.partitions}
    return wanted - owned, list(description.members)


class UnownedWatch:
    """Whether partitions of the group's topics stay owned by no member while the group is stable, and whether this
    worker is the one to rejoin so that the group assigns them (its state: the looks in a row that saw them).

    Seen on a loaded machine with workers killed every few seconds: a cooperative rebalance hands partitions over in two
    steps: the leader takes them from their owner first and gives them to no one; the owner revokes them and joins again,
    and that second rebalance gives them to their new owner. A static member killed between the two (its revocation
    running, slow while its sink is) and restarted within session_timeout_ms replaces itself without a rebalance: the
    coordinator hands its new client the reduced assignment, which has nothing to revoke, so nobody joins again, and the
    withheld partitions stay unread until the group's membership changes (minutes, or for ever while every restart is
    a static one). Whoever sees this can end it by leaving and joining again: the group rebalances with every member's
    owned partitions and assigns the rest.

    One worker acts: of the members ordered by (partitions owned, member id), the first the first time, the next one if
    that did not help, and so on; a member owning nothing loses nothing by leaving. Looks run on a thread of their own
    (the Admin API calls may take seconds); the worker's loop asks `due()`."""

    def __init__(self, config: ConsumerConfig) -> None:
        self._config = config
        self._stopped = threading.Event()
        self._lock = threading.Lock()  # `_due` is set on the watch's thread and taken on the worker's
        self._due: tuple[frozenset[tuple[str, int]], str] | None = None  # the partitions, whose turn it is
        self._looks = 0
        self._last: set[tuple[str, int]] = set()
        self._thread = threading.Thread(target=self._run, name="unowned-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ends the looks; a look under way is not waited for (its Admin API calls may take seconds; the thread is a
        daemon and its answer is no longer read)."""
        self._stopped.set()
        self._thread.join(timeout=0.5)

    def due(self, member_id: Callable[[], str | None]) -> frozenset[tuple[str, int]] | None:
        """The partitions nobody owns, once, when the worker whose client has `member_id()` (asked only then) should
        rejoin for them; else None. Called on the worker's thread: the client's calls wait for consume() to return."""
        with self._lock:
            due, self._due = self._due, None
        if due is None or due[1] != member_id():
            return None
        return due[0]

    def _run(self) -> None:
        admin = AdminClient({**self._config.kafka.client_config(), "client.id": f"{CLIENT_PREFIX}watch-{os.getpid()}"})
        while not self._stopped.wait(UNOWNED_LOOK_INTERVAL):
            self.look(unowned_partitions(admin, self._config))

    def look(self, seen: tuple[set[tuple[str, int]], list[Any]] | None) -> None:
        """One look's outcome (`unowned_partitions`): counts the looks in a row that saw the same partitions unowned,
        and marks the rejoin due when it is this worker's turn."""
        if seen is None:
            return  # a rebalance is going on (or no answer): the next look decides
        unowned, members = seen
        still = unowned & self._last if self._looks else unowned
        self._looks = self._looks + 1 if still else 0
        self._last = still
        if self._looks < UNOWNED_LOOKS:
            return
        order = sorted(members, key=lambda m: (len(m.assignment.topic_partitions), m.member_id))
        turn = order[(self._looks - UNOWNED_LOOKS) % len(order)]
        with self._lock:
            self._due = (frozenset(still), turn.member_id)
