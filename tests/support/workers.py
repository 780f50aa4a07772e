"""A consumer group of `consumer run` worker processes for the tests, and a killer that SIGKILLs them at random.

Every worker runs from the same config file (its worker index, hence its static group.instance.id, is the lowest one
no running worker holds, so a worker restarted after a kill gets its old id back), in a process group of its own, its
output appended to one log file per worker across its restarts (a marker line before each start). `stop()` asks each
to stop with SIGTERM and waits; `kill_all()`, for finalisers, kills every process group still running.
"""

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKER = "=== test: worker started (start {start}) ==="
NOTABLE = ('"level":"warning"', '"level":"error"', "Traceback")  # the log lines a failure report shows


@dataclass
class WorkerProcess:
    """One worker slot of the group: its current process, its log and how often it was started."""

    number: int
    log: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: int = 0

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def current_log(self) -> str:
        """What the worker's current process logged (since the last marker)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return text.rpartition(MARKER.format(start=self.starts))[2]


@dataclass
class WorkerGroup:
    """`count` workers of one config; thread-safe (the killer runs on its own thread)."""

    config: Path
    directory: Path
    count: int
    workers: list[WorkerProcess] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.workers = [WorkerProcess(n, self.directory / f"worker-{n}.log") for n in range(self.count)]

    def start(self) -> None:
        for worker in self.workers:
            self._start(worker)

    def start_one(self, number: int) -> WorkerProcess:
        worker = self.workers[number]
        self._start(worker)
        return worker

    def _start(self, worker: WorkerProcess) -> None:
        with self._lock:
            worker.starts += 1
            with open(worker.log, "ab") as handle:
                handle.write(f"{MARKER.format(start=worker.starts)}\n".encode())
                worker.process = subprocess.Popen(
                    [sys.executable, "-m", "consumer", "run", "--config", str(self.config)], stdout=handle, stderr=handle,
                    cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)

    def kill_and_restart(self, number: int) -> None:
        """SIGKILL worker `number` (its whole process group), wait for it to be gone, start it again."""
        worker = self.workers[number]
        with self._lock:
            if worker.process is not None:
                _signal_group(worker.process, signal.SIGKILL)
                worker.process.wait()
                worker.kills += 1
        self._start(worker)

    def exited(self) -> dict[int, int]:
        """Exit code by worker, of the workers whose current process ended by itself (not killed by this group)."""
        with self._lock:
            return {w.number: code for w in self.workers if w.process is not None and (code := w.process.poll()) is not None}

    @property
    def kills(self) -> int:
        return sum(w.kills for w in self.workers)

    def stop(self, timeout: float = 90.0) -> dict[int, int | None]:
        """SIGTERM every running worker and wait for each up to `timeout` s; exit code by worker (None: it did not
        stop in time, and was killed)."""
        codes: dict[int, int | None] = {}
        with self._lock:
            for worker in self.workers:
                if worker.running():
                    assert worker.process is not None
                    worker.process.send_signal(signal.SIGTERM)
            for worker in self.workers:
                if worker.process is None:
                    continue
                try:
                    codes[worker.number] = worker.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    codes[worker.number] = None
                    _signal_group(worker.process, signal.SIGKILL)
                    worker.process.wait()
        return codes

    def kill_all(self) -> None:
        """Kill every worker's process group (the finaliser: nothing a test started outlives it)."""
        with self._lock:
            for worker in self.workers:
                if worker.process is not None:
                    _signal_group(worker.process, signal.SIGKILL)
                    worker.process.wait()

    def digest(self, lines: int = 40) -> str:
        """Each worker's warnings and errors and the last `lines` lines of its log: what to read when a test fails."""
        parts = []
        for worker in self.workers:
            text = worker.log.read_text(errors="replace").splitlines() if worker.log.exists() else []
            notable = [line for line in text if any(mark in line for mark in NOTABLE)]
            parts.append(f"--- worker {worker.number} ({worker.starts} starts, {worker.kills} kills, log {worker.log})\n"
                         f"warnings and errors ({len(notable)}):\n" + "\n".join(notable[-lines:])
                         + f"\nlast {lines} lines:\n" + "\n".join(text[-lines:]))
        return "\n".join(parts)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass  # gone already (a zombie's group can no longer be signalled either)


class Killer(threading.Thread):
    """SIGKILLs a random worker of `group` every `every` s (a random time between the two bounds) and restarts it at
    once, until `stop()`. An error on its thread is kept and raised again by `stop()`."""

    def __init__(self, group: WorkerGroup, every: tuple[float, float], seed: int | None = None) -> None:
        super().__init__(name="worker-killer", daemon=True)
        self._group = group
        self._every = every
        self._random = random.Random(seed)
        self._stopped = threading.Event()
        self._error: BaseException | None = None
        self.history: deque[tuple[float, int]] = deque()  # (monotonic time, worker number) of each kill

    def run(self) -> None:
        try:
            while not self._stopped.wait(self._random.uniform(*self._every)):
                number = self._random.randrange(self._group.count)
                self.history.append((time.monotonic(), number))
                self._group.kill_and_restart(number)
        except BaseException as error:  # raised again on the test's thread
            self._error = error

    def stop(self) -> None:
        self._stopped.set()
        self.join(60)
        if self._error is not None:
            raise self._error
