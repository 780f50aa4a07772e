"""The fault-injection harness: the real pipeline under kills, broker restarts and a full index disk.

Writers append sequence-numbered lines (several formats, some UTF-16 with CRLF) to files they rotate by rename,
copytruncate and delete-and-recreate. The shipper and two consumer workers run as separate processes against a
dedicated real Kafka broker and index into SQLite. At random moments the harness SIGKILLs the shipper or a
worker and restarts it, stops and restarts the broker, makes the index's files unable to grow (RLIMIT_FSIZE on
the workers, set from outside with prlimit) and frees them again, and produces poison messages. At the end it
waits for the pipeline to drain and checks every written line, one by one.

Hostile mix-ins, each switched on by its ChaosPlan field (all of them: `ChaosPlan.with_hostile_mix()`):
- hostile_lines: writers of adversarial lines in their own directory (input format auto): nginx lines whose
  X-Forwarded-For is `a::1,...(40 times),!`, 320 KB logfmt lines `a=1 b=2 x x x ...`, and CR-only line endings;
- symlink_loops: a tree watched with `**` that holds `sub/a -> .` and `sub/b -> .`, with a writer inside;
- slot_pressure: one writer spreading single lines over `slot_files` files while the shipper may hold only
  `slot_max_open_files` open;
- truncate_regrow: a writer that truncates its file (once shipped) and at once writes more fixed-length lines than
  it held.
Every line they write must arrive, once (an adversarial one may arrive flagged parse_error). The summary counts
lost lines per kind of writer, and the waits that expired: a shipper that does not stop on SIGTERM within a
minute, and delete/truncate writers that gave up waiting for their file to be shipped.

The same code runs the CI-sized test (tests/chaos/test_chaos.py) and the long soak (bench/soak.py).
"""

import json
import os
import random
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from consumer.sinks.sqlite_codec import all_stored_events
from tests.chaos.writer import FORMATS, PHRASES, WriterSpec
from tests.support.kafka import LOCAL_KAFKA

ROOT = Path(__file__).resolve().parents[2]
TOKEN = re.compile(rb"chaos-w(\d+)-(\d{8}) (" + b"|".join(sorted({p.encode() for p in PHRASES.values()})) + rb")")
PHRASE_BYTES = {fmt: phrase.encode() for fmt, phrase in PHRASES.items()}
FLAGGED = re.compile(rb'"parse_error"\s*:\s*true')
ROTATIONS = ("rename", "copytruncate", "delete")
HOSTILE_LINE_KINDS = ("nginx-xff", "logfmt-huge", "cr-only")
STOP_WAIT_SECONDS = 60.0


@dataclass(frozen=True)
class ChaosPlan:
    """How much to write and how much to break."""

    seconds: float = 40.0
    writers: int = 6
    rate: float = 40.0
    rotate_every: int = 300
    utf16_writers: int = 2
    shipper_kills: int = 3
    consumer_kills: int = 3
    broker_restarts: int = 1
    disk_full_episodes: int = 1
    poison: int = 4
    drain_timeout: float = 240.0
    seed: int = field(default_factory=lambda: random.randrange(1 << 30))
    # hostile mix-ins (see the module's docstring)
    hostile_lines: bool = False
    hostile_kinds: tuple[str, ...] = HOSTILE_LINE_KINDS  # which adversarial writers hostile_lines starts
    symlink_loops: bool = False
    slot_pressure: bool = False
    truncate_regrow: bool = False
    adversarial_every: int = 25  # every n-th line of an adversarial writer is the adversarial one
    huge_line_bytes: int = 320_000
    slot_files: int = 300
    slot_max_open_files: int = 16
    regrow_every: int = 100  # lines in the first generation of the truncate-regrow writer

    def with_hostile_mix(self) -> "ChaosPlan":
        """This plan with every hostile mix-in switched on."""
        return replace(self, hostile_lines=True, symlink_loops=True, slot_pressure=True, truncate_regrow=True)

    def mix(self) -> str:
        names = ("hostile_lines", "symlink_loops", "slot_pressure", "truncate_regrow")
        on = [name for name in names if getattr(self, name)]
        if self.hostile_lines and tuple(self.hostile_kinds) != HOSTILE_LINE_KINDS:
            on[0] = "hostile_lines(" + "+".join(self.hostile_kinds) + ")"
        return ",".join(on) or "none"


@dataclass
class ChaosSummary:
    """What happened and what arrived."""

    seed: int = 0
    mix: str = "none"
    writers: int = 0
    lines_written: int = 0
    rotations: int = 0
    shipper_kills: int = 0
    consumer_kills: int = 0
    broker_restarts: int = 0
    disk_full_episodes: int = 0
    poison_injected: int = 0
    lines_indexed: int = 0
    lost: int = 0
    lost_by_kind: dict[str, int] = field(default_factory=dict)
    duplicated_by_kind: dict[str, int] = field(default_factory=dict)
    flagged: int = 0
    stop_timeouts: int = 0
    shipped_waits_expired: int = 0
    duplicated_in_index: int = 0
    corrupted: int = 0
    duplicated_in_kafka: int = 0
    dead_letters: int = 0
    seconds: float = 0.0
    lost_examples: list[str] = field(default_factory=list)

    def render(self) -> str:
        rows = {k: v for k, v in asdict(self).items() if k not in ("lost_examples", "lost_by_kind", "duplicated_by_kind")}
        text = "chaos summary: " + ", ".join(f"{k}={v}" for k, v in rows.items())
        for label, kinds in (("lost", self.lost_by_kind), ("duplicated in the index", self.duplicated_by_kind)):
            if kinds:
                text += f"\n  {label} by kind of writer: " + ", ".join(f"{k}={v}" for k, v in sorted(kinds.items()))
        if self.lost_examples:
            text += "\n  lost (first): " + ", ".join(self.lost_examples)
        return text


class Chaos:
    """One run of the harness in `workdir`."""

    def __init__(self, workdir: Path, plan: ChaosPlan, python: str = sys.executable) -> None:
        self.work = workdir
        self.plan = plan
        self.python = python
        self.random = random.Random(plan.seed)
        self.summary = ChaosSummary(seed=plan.seed, mix=plan.mix())
        self.kafka_env = {**os.environ, "LOGFERRY_KAFKA_RUN_DIR": str(workdir / "kafka")}
        self.topic = f"chaos-{uuid.uuid4().hex[:8]}"
        self.shipper: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes] | None] = [None, None]
        self.writers: list[tuple[WriterSpec, subprocess.Popen[bytes]]] = []
        self.kinds: dict[int, str] = {}  # writer number -> what kind of writer (for the lost-lines breakdown)
        self.bootstrap = ""

    # ----- services -----------------------------------------------------------------------------------------

    def broker(self, action: str) -> None:
        result = subprocess.run([str(LOCAL_KAFKA), action], env=self.kafka_env, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"local-kafka {action} failed: {result.stderr.strip()}")
        if action == "start":
            self.bootstrap = result.stdout.strip().splitlines()[-1].split("=", 1)[1]

    def spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.work / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        return subprocess.Popen([self.python, "-m", *args], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)

    def start_shipper(self) -> None:
        self.shipper = self.spawn("shipper", "shipper", "run", "--config", str(self.work / "shipper.toml"))

    def start_worker(self, index: int) -> None:
        self.workers[index] = self.spawn(f"consumer-{index}", "consumer", "run", "--config", str(self.work / "consumer.toml"))

    def write_configs(self) -> None:
        plan = self.plan
        logs = self.work / "logs"
        (logs / "utf8").mkdir(parents=True)
        (logs / "utf16").mkdir(parents=True)
        (self.work / "index").mkdir()
        (self.work / "done").mkdir()
        inputs = [
            f'[[inputs]]\nid = "utf8"\npaths = ["{logs}/utf8/*.log", "{logs}/utf8/*.log.*"]\nformat = "auto"\n',
            f'[[inputs]]\nid = "utf16"\npaths = ["{logs}/utf16/*.log", "{logs}/utf16/*.log.*"]\nformat = "plain"\n'
            'encoding = "utf-16"\n',
        ]
        if plan.hostile_lines:
            (logs / "hostile").mkdir()
            inputs.append(f'[[inputs]]\nid = "hostile"\npaths = ["{logs}/hostile/*.log", "{logs}/hostile/*.log.*"]\n')
        if plan.symlink_loops:
            # two loops under one `**`: a scan without loop detection walks 2^depth paths
            (logs / "tree" / "sub").mkdir(parents=True)
            os.symlink(".", logs / "tree" / "sub" / "a")
            os.symlink(".", logs / "tree" / "sub" / "b")
            inputs.append(f'[[inputs]]\nid = "tree"\npaths = ["{logs}/tree/**/*.log", "{logs}/tree/**/*.log.*"]\n')
        if plan.slot_pressure:
            (logs / "slots").mkdir()
            inputs.append(f'[[inputs]]\nid = "slots"\npaths = ["{logs}/slots/*.log"]\n')
        slots = f"max_open_files = {plan.slot_max_open_files}\n" if plan.slot_pressure else ""
        (self.work / "shipper.toml").write_text(f"""
[shipper]
state_dir = "{self.work}/shipper-state"
host_id = "chaos-host"
rescan_interval = 0.5
checkpoint_interval = 0.5
rotate_wait = 3.0
shutdown_timeout = 20.0
log_format = "json"
{slots}
[kafka]
bootstrap_servers = "{self.bootstrap}"
topic = "{self.topic}"

""" + "\n".join(inputs))
        (self.work / "consumer.toml").write_text(f"""
[kafka]
bootstrap_servers = "{self.bootstrap}"
topics = ["{self.topic}"]
group_id = "chaos-{self.topic}"

[sink]
type = "sqlite"
path = "{self.work}/index/logs.db"
""")

    def writer_specs(self) -> list[tuple[str, WriterSpec]]:
        """Every writer of the plan, with its kind (the ordinary ones, then those of the mix-ins)."""
        plan = self.plan
        logs = self.work / "logs"
        lines = int(plan.seconds * plan.rate)
        specs: list[tuple[str, WriterSpec]] = []

        def add(kind: str, directory: str, fmt: str, rotation: str, **extra: object) -> None:
            number = len(specs)
            fields: dict[str, object] = {
                "writer": number,
                "path": str(logs / directory / f"app-{number}.log"),
                "format": fmt,
                "encoding": "utf-8",
                "rotation": rotation,
                "lines": lines,
                "rate": plan.rate,
                "rotate_every": plan.rotate_every,
                "shipper_config": str(self.work / "shipper.toml"),
                "python": self.python,
                "done_path": str(self.work / "done" / f"w{number}"),
                **extra,
            }
            specs.append((kind, WriterSpec(**fields)))  # type: ignore[arg-type]

        for number in range(plan.writers):
            rotation = ROTATIONS[number % len(ROTATIONS)]
            if number < plan.utf16_writers:
                add("utf16", "utf16", "plain", rotation, encoding="utf-16-le")
            else:
                add(FORMATS[number % len(FORMATS)], "utf8", FORMATS[number % len(FORMATS)], rotation)
        if plan.hostile_lines:
            every = {"adversarial_every": plan.adversarial_every, "huge_line_bytes": plan.huge_line_bytes}
            if "nginx-xff" in plan.hostile_kinds:
                add("nginx-xff", "hostile", "nginx-xff", "rename", **every)
            if "logfmt-huge" in plan.hostile_kinds:
                # rarer: 320 KB at every 25th line of 40 lines/s would be most of the run's bytes
                rarer = {**every, "adversarial_every": plan.adversarial_every * 16}
                add("logfmt-huge", "hostile", "logfmt-huge", "rename", **rarer)
            if "cr-only" in plan.hostile_kinds:
                add("cr-only", "hostile", "plain", "rename", newline="\r")
        if plan.symlink_loops:
            add("symlink-loops", "tree/sub", "json", "rename")
        if plan.slot_pressure:
            add("slot-pressure", "slots", "logfmt", "none", files=plan.slot_files)
        if plan.truncate_regrow:
            add("truncate-regrow", "utf8", "fixed", "truncate-regrow", rotate_every=plan.regrow_every)
        return specs

    def start_writers(self) -> None:
        for kind, spec in self.writer_specs():
            self.kinds[spec.writer] = kind
            process = self.spawn(f"writer-{spec.writer}", "tests.chaos.writer", json.dumps(asdict(spec)))
            self.writers.append((spec, process))
        self.summary.writers = len(self.writers)

    # ----- faults -----------------------------------------------------------------------------------------------

    def kill_shipper(self) -> None:
        assert self.shipper is not None
        self.shipper.send_signal(signal.SIGKILL)
        self.shipper.wait()
        time.sleep(self.random.uniform(0.2, 1.5))
        self.start_shipper()
        self.summary.shipper_kills += 1

    def kill_worker(self) -> None:
        index = self.random.randrange(2)
        worker = self.workers[index]
        assert worker is not None
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        time.sleep(self.random.uniform(0.2, 2.0))
        self.start_worker(index)
        self.summary.consumer_kills += 1

    def restart_broker(self) -> None:
        self.broker("stop")
        time.sleep(self.random.uniform(2.0, 5.0))
        self.broker("start")
        self.summary.broker_restarts += 1

    def fill_disk(self) -> None:
        """The index's files cannot grow past 64 KiB for a few seconds: SQLite sees a full disk."""
        limited = [w.pid for w in self.workers if w is not None and w.poll() is None]
        for pid in limited:
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (65536, resource.RLIM_INFINITY))
        time.sleep(self.random.uniform(3.0, 6.0))
        for pid in limited:
            try:
                resource.prlimit(pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            except ProcessLookupError:
                pass
        self.summary.disk_full_episodes += 1

    def inject_poison(self) -> None:
        from confluent_kafka import Producer

        producer = Producer({"bootstrap.servers": self.bootstrap, "enable.idempotence": True})
        poison = self.random.choice([b"{not json", b'{"schema_version": 1, "body": "no id"}', b"\xff\xfe\x00garbage"])
        producer.produce(self.topic, key=b"poison", value=poison)
        if producer.flush(60) != 0:
            raise RuntimeError("a poison message could not be produced")
        self.summary.poison_injected += 1

    # ----- checks -------------------------------------------------------------------------------------------

    def expected_tokens(self) -> set[tuple[int, int]]:
        return {(spec.writer, seq) for spec, _ in self.writers for seq in range(spec.lines)}

    def indexed(self) -> tuple[Counter[tuple[int, int]], int, int, int]:
        """Per token, how many indexed events carry it; corrupted events; dead letters; events flagged parse_error."""
        path = self.work / "index" / "logs.db"
        counts: Counter[tuple[int, int]] = Counter()
        corrupted = flagged = 0
        if not path.exists():
            return counts, 0, 0, 0
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            for _event_id, raw in all_stored_events(db):
                found = {(int(w), int(s), phrase) for w, s, phrase in TOKEN.findall(raw)}
                for writer, seq, phrase in found:
                    counts[(writer, seq)] += 1
                    spec = self.writers[writer][0]
                    if phrase != PHRASE_BYTES[spec.format]:
                        corrupted += 1
                if found and FLAGGED.search(raw):
                    flagged += 1
            dead = db.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
        except sqlite3.OperationalError:
            return counts, corrupted, 0, flagged
        finally:
            db.close()
        return counts, corrupted, dead, flagged

    def kafka_duplicates(self) -> int:
        from confluent_kafka import Consumer

        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": f"audit-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        consumer.subscribe([self.topic])
        seen: Counter[tuple[int, int]] = Counter()
        idle_since = time.monotonic()
        try:
            while time.monotonic() - idle_since < 8:
                batch = consumer.consume(num_messages=5000, timeout=1.0)
                if batch:
                    idle_since = time.monotonic()
                for message in batch:
                    value = message.value()
                    if message.error() is None and value:
                        # A token can stand in the body and in log.record.original: count the message once.
                        for w, s in {(w, s) for w, s, _ in TOKEN.findall(value)}:
                            seen[(int(w), int(s))] += 1
        finally:
            consumer.close()
        return sum(n - 1 for n in seen.values() if n > 1)

    # ----- the run ------------------------------------------------------------------------------------------

    def run(self) -> ChaosSummary:
        started = time.monotonic()
        self.work.mkdir(parents=True, exist_ok=True)
        try:  # the broker's start inside: one that fails or times out half way may have left a broker running
            self.broker("start")
            return self._run(started)
        finally:
            for process in [self.shipper, *self.workers, *(p for _, p in self.writers)]:
                if process is not None and process.poll() is None:
                    process.kill()
                    process.wait()
            subprocess.run([str(LOCAL_KAFKA), "reset"], env=self.kafka_env, capture_output=True, timeout=120)

    def _run(self, started: float) -> ChaosSummary:
        plan = self.plan
        from tests.support.kafka import new_topic

        self.topic = new_topic(self.bootstrap, partitions=3, prefix="chaos")
        self.write_configs()
        self.start_shipper()
        self.start_worker(0)
        self.start_worker(1)
        self.start_writers()

        faults = (
            ["shipper"] * plan.shipper_kills
            + ["worker"] * plan.consumer_kills
            + ["broker"] * plan.broker_restarts
            + ["disk"] * plan.disk_full_episodes
            + ["poison"] * plan.poison
        )
        self.random.shuffle(faults)
        moments = sorted(self.random.uniform(0.05, 0.9) * plan.seconds for _ in faults)
        actions = {
            "shipper": self.kill_shipper,
            "worker": self.kill_worker,
            "broker": self.restart_broker,
            "disk": self.fill_disk,
            "poison": self.inject_poison,
        }
        for moment, fault in zip(moments, faults, strict=True):
            delay = started + moment - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            actions[fault]()

        for spec, process in self.writers:
            process.wait(timeout=plan.seconds * 4 + 300)
            if process.returncode != 0:
                raise RuntimeError(f"writer {spec.writer} failed; see {self.work}/writer-{spec.writer}.log")
        self.summary.lines_written = sum(spec.lines for spec, _ in self.writers)
        done = [(self.work / "done" / f"w{s.writer}").read_text().split() for s, _ in self.writers]
        self.summary.rotations = sum(int(fields[1]) for fields in done)
        self.summary.shipped_waits_expired = sum(int(fields[2]) for fields in done)

        expected = self.expected_tokens()
        deadline = time.monotonic() + plan.drain_timeout
        while True:
            counts, corrupted, dead, _ = self.indexed()
            drained = expected <= set(counts) and dead >= self.summary.poison_injected
            if drained or time.monotonic() > deadline:
                break
            time.sleep(2.0)

        services = [p for p in [self.shipper, *self.workers] if p is not None]
        for service in services:
            service.send_signal(signal.SIGTERM)
        for service in services:
            try:
                service.wait(timeout=STOP_WAIT_SECONDS)
            except subprocess.TimeoutExpired:  # a stop request not honoured: counted, then ended for good
                self.summary.stop_timeouts += 1
                service.kill()
                service.wait()

        counts, corrupted, dead, flagged = self.indexed()
        lost = sorted(expected - set(counts))
        self.summary.lines_indexed = sum(1 for token in counts if token in expected)
        self.summary.lost = len(lost)
        self.summary.lost_by_kind = dict(Counter(self.kinds[writer] for writer, _ in lost))
        self.summary.flagged = flagged
        self.summary.lost_examples = [f"w{w}-{s:08d}" for w, s in lost[:10]]
        self.summary.duplicated_in_index = sum(n - 1 for n in counts.values() if n > 1)
        doubled: Counter[str] = Counter()
        for (writer, _), n in counts.items():
            if n > 1 and writer in self.kinds:
                doubled[self.kinds[writer]] += n - 1
        self.summary.duplicated_by_kind = dict(doubled)
        self.summary.corrupted = corrupted
        self.summary.dead_letters = dead
        self.summary.duplicated_in_kafka = self.kafka_duplicates()
        self.summary.seconds = round(time.monotonic() - started, 1)
        return self.summary
