"""`shipper exec`: run one scheduled job and record the run.

In order: sweep runs whose exec died (ended-unknown), take the job lock (`--no-overlap`; a refusal is recorded
and exits 75), write `job.start`, run the program with one reader thread per output stream (echoed to our own
stdout/stderr unless quiet, parsed, spooled), stop and then kill its tree on `--timeout`, write `job.end`, ship the
spools (or leave them to a running shipper), prune shipped spools, and exit with the program's exit code.
"""

import logging
import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from logferry.hostid import host_id as resolve_host_id
from shipper.config import ShipperConfig
from shipper.jobs import recovery
from shipper.jobs.child import CannotStart, Child, ChildExit, start
from shipper.jobs.decoding import LineSplitter
from shipper.jobs.identity import JobName, RunId
from shipper.jobs.locks import FileLock
from shipper.jobs.output import OutputStream, output_settings
from shipper.jobs.records import (
    Ending,
    Outcome,
    RunContext,
    Stream,
    end_record,
    overrun_record,
    refused_record,
    start_record,
)
from shipper.jobs.ship import Shipped, ship_spools
from shipper.jobs.spool import SpoolWriter, job_lock_path, run_lock_path, spool_path

log = logging.getLogger("shipper.jobs")

REFUSED_EXIT_CODE = 75
"""`exec --no-overlap` while another run of the job is running (EX_TEMPFAIL: try again later)."""
READ_BYTES = 65_536
TICK = 0.25  # seconds between multiline flush checks
LINGER = 2.0  # seconds the output pipes may stay open after the program ended before its tree is killed
DRAIN = 10.0  # seconds to wait for the pipes once the tree is killed


@dataclass(frozen=True)
class ExecOptions:
    job: JobName
    argv: Sequence[str]
    timeout: float | None = None
    warn_after: float | None = None
    service: str = ""
    no_overlap: bool = False
    quiet: bool = False
    ship: bool = True


class JobRun:
    """One run: the spool, the child, the stream readers, the timeout."""

    def __init__(self, config: ShipperConfig, options: ExecOptions, run: RunContext, spool: SpoolWriter,
                 stop: threading.Event) -> None:
        self.config = config
        self.stop = stop  # set by a stop request that comes after the run ended: the shipping pass ends
        self.options = options
        self.run = run
        self.spool = spool
        settings = output_settings(config.jobs)
        self.outputs = {stream: OutputStream(run, stream, settings) for stream in Stream}
        self.locks = {stream: threading.Lock() for stream in Stream}
        self.finished = threading.Event()  # the run's end is written: stop requests no longer go to the child
        self.ended = threading.Event()  # the program ended (or could not start)
        self.cut = False  # readers still running when the end was written: their late lines are not spooled
        self.timed_out = False
        self.overran = False

    def execute(self) -> int:
        started_ns = time.time_ns()
        began = time.monotonic()
        program = self.options.argv[0]
        try:
            child = start(self.options.argv)
        except CannotStart as error:
            self.spool.write(start_record(self.run, started_ns, program, None, no_overlap=self.options.no_overlap))
            ending = Ending(Outcome.FAILED_TO_START, exit_code=error.exit_code, error=str(error), wall_ms=0.0)
            self.spool.write(end_record(self.run, time.time_ns(), ending))
            log.error("The job's program could not be started.", extra={"job": self.run.job.value, "error": str(error)})
            return error.exit_code
        self.spool.write(start_record(self.run, started_ns, program, child.pid, no_overlap=self.options.no_overlap))
        child.forward_stop_requests(self.finished, self.stop.set)
        echo = None if self.options.quiet else {Stream.STDOUT: sys.stdout.buffer, Stream.STDERR: sys.stderr.buffer}
        readers = [
            threading.Thread(target=self._read, args=(pipe, stream, echo[stream] if echo else None),
                             name=f"job-{stream.value}", daemon=True)
            for pipe, stream in ((child.stdout, Stream.STDOUT), (child.stderr, Stream.STDERR))
        ]
        for reader in readers:
            reader.start()
        ticker = threading.Thread(target=self._tick, name="job-multiline", daemon=True)
        ticker.start()
        if self.options.timeout is not None:
            threading.Thread(target=self._watch, args=(child, self.options.timeout), name="job-timeout", daemon=True).start()
        if self.options.warn_after is not None:
            threading.Thread(target=self._overrun, args=(self.options.warn_after,), name="job-overrun", daemon=True).start()
        result = child.wait()
        wall_ms = (time.monotonic() - began) * 1000.0
        self.ended.set()
        if self.timed_out:
            child.kill_tree()  # what was left of the group after its leader ended
        self._drain(child, readers)
        self._end(result, wall_ms, child.pid)
        return result.exit_code

    def _read(self, pipe: BinaryIO, stream: Stream, echo: BinaryIO | None) -> None:
        splitter = LineSplitter(self.config.shipper.max_line_bytes)
        output, lock = self.outputs[stream], self.locks[stream]
        fd = pipe.fileno()
        while True:
            data = os.read(fd, READ_BYTES)
            if echo is not None and data:
                try:
                    echo.write(data)
                    echo.flush()
                except (OSError, ValueError):
                    echo = None  # our own stdout went away: the run goes on, recorded
            lines = splitter.push(data) if data else splitter.finish()
            with lock:
                if self.cut:
                    return
                records = output.lines_in(lines) if lines else []
                if not data:
                    records += output.close()
                self.spool.write_many(records)
            if not data:
                pipe.close()
                return

    def _tick(self) -> None:
        while not self.finished.wait(TICK):
            for stream in Stream:
                with self.locks[stream]:
                    if not self.cut:
                        self.spool.write_many(self.outputs[stream].tick())

    def _watch(self, child: Child, timeout: float) -> None:
        if self.ended.wait(timeout):
            return
        self.timed_out = True
        log.warning("The job ran past its timeout; its process tree is stopped.", extra={"job": self.run.job.value,
                                                                                       "timeout": timeout})
        child.stop_tree()
        if not self.ended.wait(self.config.jobs.kill_grace):
            child.kill_tree()

    def _overrun(self, after: float) -> None:
        if self.ended.wait(after):
            return
        self.overran = True
        self.spool.write(overrun_record(self.run, time.time_ns(), after))

    def _drain(self, child: Child, readers: list[threading.Thread]) -> None:
        """Wait for the pipes to close; descendants that keep them open after the program ended are killed."""
        deadline = time.monotonic() + LINGER
        for reader in readers:
            reader.join(max(0.0, deadline - time.monotonic()))
        if any(reader.is_alive() for reader in readers):
            log.warning("The job's program ended but processes it started keep its output open; they are killed.",
                        extra={"job": self.run.job.value})
            child.kill_tree()
            deadline = time.monotonic() + DRAIN
            for reader in readers:
                reader.join(max(0.0, deadline - time.monotonic()))
        for stream in Stream:
            with self.locks[stream]:
                self.cut = True  # a reader still alive (a process outside the tree holds the pipe) spools no more

    def _end(self, result: ChildExit, wall_ms: float, pid: int) -> None:
        if self.timed_out:
            outcome = Outcome.TIMED_OUT
        elif result.signal is not None or result.ntstatus is not None:
            outcome = Outcome.KILLED
        else:
            outcome = Outcome.SUCCEEDED if result.exit_code == 0 else Outcome.FAILED
        ending = Ending(
            outcome, exit_code=result.exit_code if result.signal is None else None, signal=result.signal,
            ntstatus=result.ntstatus, wall_ms=wall_ms, cpu_ms=result.cpu_ms, peak_memory_bytes=result.peak_memory_bytes,
            timed_out=self.timed_out, overran=self.overran, lines={s.value: self.outputs[s].lines for s in Stream}, pid=pid,
        )
        self.spool.write(end_record(self.run, time.time_ns(), ending))
        log.info("The job ended.", extra={"job": self.run.job.value, "run_id": self.run.run_id.value,
                                           "outcome": outcome.value, "exit_code": result.exit_code})


def run_exec(config: ShipperConfig, options: ExecOptions) -> int:
    """Run the job, record it, ship the record; the program's exit code."""
    state_dir = config.shipper.state_dir
    os.makedirs(state_dir, exist_ok=True)
    recovery.sweep(state_dir, grace=0)
    host = resolve_host_id(config.shipper.host_id or None, Path(state_dir))
    run = RunContext(options.job, RunId.new(host, options.job), options.service)
    job_lock = FileLock(job_lock_path(state_dir, options.job))
    path = spool_path(state_dir, options.job, run.run_id)
    run_lock = FileLock(run_lock_path(path))
    if not run_lock.acquire():
        raise OSError(f"cannot lock {run_lock.path}")
    spool = SpoolWriter(path)
    finished = threading.Event()
    stop = threading.Event()
    try:
        if options.no_overlap and not job_lock.acquire():
            holder = job_lock.holder()
            spool.write(refused_record(run, time.time_ns(), holder))
            log.warning("Another run of the job is running; this one does not start.",
                        extra={"job": options.job.value, "running_pid": holder})
            code = REFUSED_EXIT_CODE
        else:
            job = JobRun(config, options, run, spool, stop)
            finished = job.finished
            code = job.execute()
    finally:
        finished.set()
        spool.close()
        run_lock.release()
        job_lock.release()
    if options.ship:
        _ship(config, stop)
    return code


def _ship(config: ShipperConfig, stop: threading.Event) -> None:
    result = ship_spools(config, stop)
    if result.outcome is Shipped.LEFT_TO_SERVICE:
        log.info("A running shipper holds the state directory; it ships the run.")
    elif result.outcome is Shipped.FAILED:
        log.warning("The run could not be shipped now; its spool is kept and shipped by the next exec or a running "
                    "shipper.", extra={"error": result.error})
        return
    from shipper.checkpoint import JsonFileStore
    from shipper.runner import checkpoint_path

    try:
        checkpoints = JsonFileStore(checkpoint_path(config)).load()
    except Exception:  # an unreadable checkpoint file: nothing is pruned; the shipper reports it
        return
    recovery.prune(config.shipper.state_dir, checkpoints, config.jobs.spool_retention)  # type: ignore[arg-type]
