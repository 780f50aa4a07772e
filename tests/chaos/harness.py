"""The fault-injection harness: the real pipeline under kills, broker restarts and a full index disk.

Writers append sequence-numbered lines (several formats, some UTF-16 with CRLF) to files they rotate by rename,
copytruncate and delete-and-recreate. The shipper and two consumer workers run as separate processes against a
dedicated real Kafka broker and index into SQLite. At random moments the harness SIGKILLs the shipper or a
worker and restarts it, stops and restarts the broker, makes the index's files unable to grow (RLIMIT_FSIZE on
the workers, set from outside with prlimit) and frees them again, and produces poison messages. At the end it
waits for the pipeline to drain and checks every written line, one by one.

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
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.chaos.writer import FORMATS, WriterSpec
from tests.support.kafka import LOCAL_KAFKA

ROOT = Path(__file__).resolve().parents[2]
TOKEN = re.compile(rb"chaos-w(\d+)-(\d{8}) (payment accepted|disk almost full|request failed|user login|plain line)")
PHRASES = {
    "json": b"payment accepted",
    "logfmt": b"disk almost full",
    "python": b"request failed",
    "syslog": b"user login",
    "plain": b"plain line",
}
ROTATIONS = ("rename", "copytruncate", "delete")


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


@dataclass
class ChaosSummary:
    """What happened and what arrived."""

    seed: int = 0
    lines_written: int = 0
    rotations: int = 0
    shipper_kills: int = 0
    consumer_kills: int = 0
    broker_restarts: int = 0
    disk_full_episodes: int = 0
    poison_injected: int = 0
    lines_indexed: int = 0
    lost: int = 0
    duplicated_in_index: int = 0
    corrupted: int = 0
    duplicated_in_kafka: int = 0
    dead_letters: int = 0
    seconds: float = 0.0
    lost_examples: list[str] = field(default_factory=list)

    def render(self) -> str:
        rows = {k: v for k, v in asdict(self).items() if k != "lost_examples"}
        text = "chaos summary: " + ", ".join(f"{k}={v}" for k, v in rows.items())
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
        self.summary = ChaosSummary(seed=plan.seed)
        self.kafka_env = {**os.environ, "LOGFERRY_KAFKA_RUN_DIR": str(workdir / "kafka")}
        self.topic = f"chaos-{uuid.uuid4().hex[:8]}"
        self.shipper: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes] | None] = [None, None]
        self.writers: list[tuple[WriterSpec, subprocess.Popen[bytes]]] = []
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
        logs = self.work / "logs"
        (logs / "utf8").mkdir(parents=True)
        (logs / "utf16").mkdir(parents=True)
        (self.work / "index").mkdir()
        (self.work / "done").mkdir()
        (self.work / "shipper.toml").write_text(f"""
[shipper]
state_dir = "{self.work}/shipper-state"
host_id = "chaos-host"
rescan_interval = 0.5
checkpoint_interval = 0.5
rotate_wait = 3.0
shutdown_timeout = 20.0
log_format = "json"

[kafka]
bootstrap_servers = "{self.bootstrap}"
topic = "{self.topic}"

[[inputs]]
id = "utf8"
paths = ["{logs}/utf8/*.log", "{logs}/utf8/*.log.*"]
format = "auto"

[[inputs]]
id = "utf16"
paths = ["{logs}/utf16/*.log", "{logs}/utf16/*.log.*"]
format = "plain"
encoding = "utf-16"
""")
        (self.work / "consumer.toml").write_text(f"""
[kafka]
bootstrap_servers = "{self.bootstrap}"
topics = ["{self.topic}"]
group_id = "chaos-{self.topic}"

[sink]
type = "sqlite"
path = "{self.work}/index/logs.db"
""")

    def start_writers(self) -> None:
        plan = self.plan
        lines = int(plan.seconds * plan.rate)
        for number in range(plan.writers):
            utf16 = number < plan.utf16_writers
            fmt = "plain" if utf16 else FORMATS[number % len(FORMATS)]
            spec = WriterSpec(
                writer=number,
                path=str(self.work / "logs" / ("utf16" if utf16 else "utf8") / f"app-{number}.log"),
                format=fmt,
                encoding="utf-16-le" if utf16 else "utf-8",
                rotation=ROTATIONS[number % len(ROTATIONS)],
                lines=lines,
                rate=plan.rate,
                rotate_every=plan.rotate_every,
                shipper_config=str(self.work / "shipper.toml"),
                python=self.python,
                done_path=str(self.work / "done" / f"w{number}"),
            )
            process = self.spawn(f"writer-{number}", "tests.chaos.writer", json.dumps(asdict(spec)))
            self.writers.append((spec, process))

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

    def indexed(self) -> tuple[Counter[tuple[int, int]], int, int]:
        """Per token, how many indexed events carry it; the number of corrupted events; dead letters."""
        path = self.work / "index" / "logs.db"
        counts: Counter[tuple[int, int]] = Counter()
        corrupted = 0
        if not path.exists():
            return counts, 0, 0
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            for (event,) in db.execute("SELECT event FROM events"):
                raw = bytes(event) if not isinstance(event, bytes) else event
                found = {(int(w), int(s), phrase) for w, s, phrase in TOKEN.findall(raw)}
                for writer, seq, phrase in found:
                    counts[(writer, seq)] += 1
                    spec = self.writers[writer][0]
                    if phrase != PHRASES[spec.format]:
                        corrupted += 1
            dead = db.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
        except sqlite3.OperationalError:
            return counts, corrupted, 0
        finally:
            db.close()
        return counts, corrupted, dead

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
                    if message.error() is None and message.value():
                        # A token can stand in the body and in log.record.original: count the message once.
                        for w, s in {(w, s) for w, s, _ in TOKEN.findall(message.value())}:
                            seen[(int(w), int(s))] += 1
        finally:
            consumer.close()
        return sum(n - 1 for n in seen.values() if n > 1)

    # ----- the run ------------------------------------------------------------------------------------------

    def run(self) -> ChaosSummary:
        started = time.monotonic()
        self.work.mkdir(parents=True, exist_ok=True)
        self.broker("start")
        try:
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
        self.summary.rotations = sum(int((self.work / "done" / f"w{s.writer}").read_text().split()[1]) for s, _ in self.writers)

        expected = self.expected_tokens()
        deadline = time.monotonic() + plan.drain_timeout
        while True:
            counts, corrupted, dead = self.indexed()
            drained = expected <= set(counts) and dead >= self.summary.poison_injected
            if drained or time.monotonic() > deadline:
                break
            time.sleep(2.0)

        for process in [self.shipper, *self.workers]:
            if process is not None:
                process.send_signal(signal.SIGTERM)
        for process in [self.shipper, *self.workers]:
            if process is not None:
                process.wait(timeout=60)

        counts, corrupted, dead = self.indexed()
        lost = sorted(expected - set(counts))
        self.summary.lines_indexed = sum(1 for token in counts if token in expected)
        self.summary.lost = len(lost)
        self.summary.lost_examples = [f"w{w}-{s:08d}" for w, s in lost[:10]]
        self.summary.duplicated_in_index = sum(n - 1 for n in counts.values() if n > 1)
        self.summary.corrupted = corrupted
        self.summary.dead_letters = dead
        self.summary.duplicated_in_kafka = self.kafka_duplicates()
        self.summary.seconds = round(time.monotonic() - started, 1)
        return self.summary
