"""The shipper's main loop: rescan, read a turn of every file, produce, serve acknowledgements, checkpoint.

`run_shipper(config, stop_event, once)` is what the CLI and the Windows service call. Setting `stop_event`
stops reading; events in flight are flushed for up to shutdown_timeout, checkpoints are written, and it
returns 0. With `once`, it ships what is in the files now, waits for every acknowledgement and returns.

One thread does all the reading and producing (librdkafka's own threads do the network and compression), so
no state is shared except the counters the metrics endpoint reads.
"""

import gc
import logging
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from logferry.hostid import host_id as resolve_host_id
from logferry.progress import Progress
from logferry.sdnotify import Notifier
from shipper.checkpoint.lock import StateLock, StateLocked
from shipper.checkpoint.store import CheckpointError, JsonFileStore
from shipper.config import ShipperConfig
from shipper.delivery.producer import Delivery, Stopping
from shipper.discovery.hints import Hints
from shipper.discovery.scanner import Scanner
from shipper.errors import ShipperError
from shipper.files import Files
from shipper.harvest.harvester import Outcome, State
from shipper.table import Follow

if TYPE_CHECKING:
    from logferry.exporter import Exporter

log = logging.getLogger("shipper.runner")

# The hot loop allocates short-lived, acyclic objects (records, events, delivery reports): a larger young
# generation lets most of them die before a collection looks at them (the default 700 cost ~4% of a line's CPU).
GC_YOUNG_THRESHOLD = 50_000
FLUSH_INTERVAL = 0.25  # seconds between multiline flush checks and idle closes
MAX_BACKOFF = 1.0  # most seconds between polls of an idle file while file-system hints may be missed
MAX_BACKOFF_HINTED = 10.0  # the same while hints are healthy: a change wakes the file at once
IDLE_WAIT = 1.0  # most seconds the idle loop sleeps on the hints between turns while they are healthy
PRUNE_INTERVAL = 3600.0  # seconds between looks for checkpoints of files long gone
SAVE_RETRY_FIRST = 1.0  # seconds before trying a failed checkpoint write again, doubled up to SAVE_RETRY_MAX
SAVE_RETRY_MAX = 30.0
JOB_SWEEP_INTERVAL = 30.0  # seconds between looks for job runs whose exec died (shipper.jobs.recovery)


@dataclass(frozen=True)
class CheckpointFailure:
    """Checkpoints cannot be written (a full disk, a quota): since when (monotonic) and the last error."""

    since: float
    error: str


def checkpoint_path(config: ShipperConfig) -> Path:
    return Path(config.shipper.state_dir) / "checkpoints.json"


class Shipper:
    def __init__(self, config: ShipperConfig, stop_event: threading.Event, once: bool) -> None:
        self.config = config
        self.settings = config.shipper
        self.stop_event = stop_event
        self.once = once
        state_dir = Path(self.settings.state_dir)
        self.lock = StateLock(state_dir)
        self.lock.acquire()
        try:
            self.store = JsonFileStore(checkpoint_path(config))
            checkpoints = self.store.load()
            self.host_id = resolve_host_id(self.settings.host_id or None, state_dir)
            self.delivery = Delivery(config.kafka, self.settings.max_inflight_bytes, self._stopping)
        except BaseException:
            self.lock.release()
            raise
        self.files = Files(config, self.host_id, checkpoints, self.delivery)
        self.scanner = Scanner(config.inputs, self._stopping)  # a scan stops between directories when asked
        self.hints = Hints()
        self.last_turn = time.monotonic()
        self.checkpoint_failure: CheckpointFailure | None = None
        self._held = False  # a parser held an event at the last flush check
        self._close_due = math.inf  # when the next open file may be closed as inactive
        self._hinted = False  # whether the hints were healthy at the last turn
        self.finished = False
        self._save_retry = SAVE_RETRY_FIRST
        self._next_save = 0.0
        self.notifier = Notifier()  # systemd's READY and WATCHDOG (nothing without a NOTIFY_SOCKET)
        # A backfill's progress; a long-running shipper follows files, which has no end to count down to.
        self.progress = Progress(self.settings.progress, unit="bytes") if once else None
        self.metrics: Exporter | None = None
        if self.settings.metrics_address:
            # Imported only when served: a shipper without metrics does not load prometheus_client.
            from logferry.exporter import ExporterError
            from shipper.metrics import serve as serve_metrics

            try:
                self.metrics = serve_metrics(
                    self.settings.metrics_address, self.files, self.delivery, last_turn=lambda: self.last_turn,
                    settings=config.health, checkpoint_failure=lambda: self.checkpoint_failure,
                )
            except ExporterError as error:
                self.lock.release()
                raise ShipperError(str(error)) from None

    def _stopping(self) -> bool:
        """Asked to stop, or Kafka refused us for good (bad credentials or permissions)."""
        return self.stop_event.is_set() or self.delivery.refused is not None

    def run(self) -> int:
        log.info(
            "The shipper starts.",
            extra={"inputs": [i.id for i in self.config.inputs], "topic": self.config.kafka.topic, "once": self.once},
        )
        if not self.once:
            self.hints.start([p for i in self.config.inputs for p in i.paths])
        if self.metrics is not None:
            self.metrics.start()
        files = self.files
        thresholds = gc.get_threshold()
        gc.freeze()  # what start-up built lives as long as the process: full collections need not walk it
        gc.set_threshold(GC_YOUNG_THRESHOLD, thresholds[1], thresholds[2])
        try:
            if self.once:  # a backfill fails (exit 1) when Kafka does not answer; a running shipper retries for ever
                self.delivery.expect_kafka_within(self.config.kafka.connect_timeout, self._stopping)
            try:
                self._loop()
            except Stopping:
                pass  # stopped while the producer's queue was full
            if self.progress is not None:
                self.progress.report(files.bytes_read, self._bytes_left())
                self.progress.finish()
            if self.once and not self._stopping():
                log.info("Everything present was read; waiting for Kafka to acknowledge it.")
                self.delivery.flush(None, self._stopping)
            self.finish(flush=True)
        finally:
            if self.progress is not None:
                self.progress.finish()  # the bar's line ends before the closing log lines
            if not self.finished:  # failed on the way: what was acknowledged is still written
                self._save(final=True)
            self.release()
            gc.set_threshold(*thresholds)
            gc.unfreeze()
        log.info(
            "The shipper stopped.",
            extra={"events": self.delivery.events_produced, "lines": files.lines_read, "bytes": files.bytes_read},
        )
        if self.delivery.refused is not None:
            raise ShipperError(self.delivery.refused)
        return 0

    def finish(self, *, flush: bool) -> None:
        """Wait up to shutdown_timeout for acknowledgements (with `flush`), then write the checkpoints."""
        self.notifier.stopping()
        if flush and not self.delivery.settled and self.delivery.refused is None:
            self.delivery.flush(self.settings.shutdown_timeout)
        if not self.delivery.settled:
            log.warning(
                "Stopping with events not acknowledged; they are sent again on the next start.",
                extra={"in_flight": self.delivery.inflight.records},
            )
        self._save(final=True)
        self.finished = True

    def release(self) -> None:
        """Close every file, stop the helper threads and release the state directory (after `finish`)."""
        self.files.close_all()
        self.hints.stop()
        if self.metrics is not None:
            self.metrics.stop()
        self.lock.release()

    def _loop(self) -> None:
        """Turn until stopped (or, with `once`, until every file present was read to its end)."""
        self.begin()
        self.notifier.ready(f"following {len(self.files.follows)} file(s)")
        while not self._stopping():
            if self.turn():
                return

    def begin(self) -> None:
        """The first scan and the timers (before the first `turn`)."""
        now = time.monotonic()
        self._rescan(now)
        self._next_checkpoint = now + self.settings.checkpoint_interval
        self._next_flush = now + FLUSH_INTERVAL
        self._next_prune = now
        self._next_job_sweep = now

    def turn(self) -> bool:
        """One turn of the main loop; True when `once` is done."""
        files = self.files
        now = self.last_turn = time.monotonic()
        self.notifier.alive()
        self._follow_hints_health()
        if not self.once and (now >= self._next_rescan or self.hints.rescan.is_set()):
            self.hints.rescan.clear()
            self._rescan(now)
        self._apply_hints()
        files.open_waiting(self.once)
        worked = self._read_round(now)
        self.delivery.poll(0)
        if now >= self._next_flush:
            self._flush_parsers()
            self._close_inactive(now)
            self._next_flush = now + FLUSH_INTERVAL
        if now >= self._next_checkpoint:
            self._save()
            self._next_checkpoint = now + self.settings.checkpoint_interval
            if self.progress is not None and self.progress.due():
                self.progress.report(files.bytes_read, self._bytes_left())
        if now >= self._next_prune:
            files.prune_checkpoints(self.settings.checkpoint_retention)
            self._next_prune = now + PRUNE_INTERVAL
        if now >= self._next_job_sweep:
            from shipper.jobs.recovery import sweep

            sweep(self.settings.state_dir, grace=self.config.jobs.end_unknown_after)
            self._next_job_sweep = now + JOB_SWEEP_INTERVAL
        if self.once and not files.follows and not files.waiting:
            return True
        if not worked:
            if self.delivery.inflight.records or self.once or files.waiting or not self._hinted:
                self.delivery.poll(0.05)
            else:
                # Nothing awaits Kafka and the file-system events report every change: sleep until one comes (a
                # hint wakes this), the next flush check or close as inactive is due, or a stop is asked for.
                due = now + FLUSH_INTERVAL if self._held else self._close_due
                self.hints.wait(max(0.0, min(IDLE_WAIT, due - now)), self._stopping)
        return False

    def _bytes_left(self) -> int:
        """What `run --once` has still to read: the open files up to their size at open, and the waiting files."""
        files = self.files
        left = sum(max(0, f.size_at_open - f.harvester.position) for f in files.follows)
        return left + sum(item.stat.st_size for item in files.waiting)

    def _rescan(self, now: float) -> None:
        """Scan the globs and tell the hints which directories that took; the next rescan is rare while the hints are
        healthy (they report every change), else after rescan_interval."""
        self.files.apply_scan(self.scanner.scan(), now)
        self.hints.scanned(self.scanner.directories, self.scanner.linked_files)
        interval = self.settings.rescan_interval
        if self.hints.healthy:
            interval = max(interval, self.settings.healthy_rescan_interval)
        self._next_rescan = now + interval

    @property
    def max_backoff(self) -> float:
        """Most seconds between polls of an idle file: longer while file-system hints are known to arrive."""
        return MAX_BACKOFF_HINTED if self._hinted else MAX_BACKOFF

    def _follow_hints_health(self) -> None:
        """When the hints stop being healthy, idle files polled every MAX_BACKOFF_HINTED are polled now instead (a change
        the hints missed is then seen within MAX_BACKOFF), and the next rescan is not put off any longer."""
        healthy = self.hints.healthy
        if self._hinted and not healthy:
            for follow in self.files.follows:
                follow.harvester.wake()
            self._next_rescan = min(self._next_rescan, time.monotonic() + self.settings.rescan_interval)
        self._hinted = healthy

    # -- one round -------------------------------------------------------------------------------------------

    def _read_round(self, now: float) -> bool:
        files = self.files
        budget = self.settings.file_budget_bytes
        worked = False
        for follow in list(files.follows):
            if self.delivery.congested:
                self.delivery.poll(0.01)
                return worked
            h = follow.harvester
            if not h.poll_due(now):
                continue
            try:
                if h.state is State.OPENING:
                    files.identify(follow, now, self.once)
                    continue
                outcome, read_something = self._read_file(follow, budget)
            except OSError as error:  # e.g. EIO, or permissions changed under us
                files.failed(follow, error)
                continue
            worked = worked or read_something
            if outcome is Outcome.REPLACED:
                if h.state is State.DRAINING:
                    files.close(follow)
                else:
                    files.replaced(follow, now)
                worked = True
            elif outcome is Outcome.MORE and not (self.once and h.position >= follow.size_at_open):
                h.on_more()
            else:
                self._at_end(follow, now, read_something)
        return worked

    def _read_file(self, follow: Follow, budget: int) -> tuple[Outcome, bool]:
        """One turn of one file: chunk by chunk (so few records are alive at once) up to its budget."""
        h = follow.harvester
        chunk = self.settings.read_chunk_bytes
        read_something = False
        while True:
            records, outcome = h.read_turn(min(chunk, budget))
            stream = follow.stream
            if records and stream is not None:
                read_something = True
                spanned = records[-1][1] - records[0][0]  # end of the last, offset of the first
                self.files.lines_read += len(records)
                self.files.bytes_read += spanned
                self.files.send(follow, stream.parser.feed(records, time.time_ns()))
                self.delivery.poll(0)
                budget -= spanned
            if outcome is not Outcome.MORE or budget <= 0 or self.delivery.congested:
                return outcome, read_something

    def _at_end(self, follow: Follow, now: float, read_something: bool) -> None:
        h = follow.harvester
        if self.once:
            # Everything that was there when the file was opened is read: a file still growing does not
            # keep a backfill running.
            self.files.close(follow)
            return
        h.on_eof(now, read_something, self.max_backoff)
        if h.state is State.DRAINING and h.quiet_for(now) >= self.settings.rotate_wait:
            log.info("Closed a rotated or deleted file after reading it to the end.", extra={"path": h.path})
            self.files.close(follow)

    def _apply_hints(self) -> None:
        for path in self.hints.take():
            follow = self.files.by_path.get(path)
            if follow is not None:
                follow.harvester.wake()
            else:
                self.hints.rescan.set()

    def _flush_parsers(self) -> None:
        now_ns = time.time_ns()
        held = False
        for follow in self.files.follows:
            stream = follow.stream
            if stream is not None and follow.harvester.state is not State.OPENING and stream.parser.held_from() is not None:
                events = stream.parser.flush(now_ns, force=False)
                if events:
                    self.files.send(follow, events)
                held = held or stream.parser.held_from() is not None
        self._held = held

    def _close_inactive(self, now: float) -> None:
        limit = self.settings.close_inactive
        soonest = math.inf
        for follow in list(self.files.follows):
            h = follow.harvester
            if h.state in (State.IDLE, State.OPENING):
                quiet = h.quiet_for(now)
                if quiet >= limit:
                    self.files.close(follow)
                else:
                    soonest = min(soonest, now + limit - quiet)
        self._close_due = soonest  # the idle loop's sleep ends by then

    def _save(self, *, final: bool = False) -> None:
        """Write the checkpoints if they changed; a failed write (disk full, quota) is retried with backoff."""
        if not self.files.collect_checkpoints():
            return
        now = time.monotonic()
        if self.checkpoint_failure is not None and now < self._next_save and not final:
            return
        book = self.files.book
        try:
            self.store.save(book.snapshot())
        except OSError as error:
            text = f"{error.strerror or error}" + (f": {error.filename}" if error.filename else "")
            if self.checkpoint_failure is None:
                self.checkpoint_failure = CheckpointFailure(now, text)
                log.error(
                    "The checkpoints cannot be written; reading goes on and the write is tried again.",
                    extra={"path": str(self.store.path), "error": text},
                )
            else:
                self.checkpoint_failure = CheckpointFailure(self.checkpoint_failure.since, text)
                self._save_retry = min(SAVE_RETRY_MAX, self._save_retry * 2)
            self._next_save = now + self._save_retry
            if final:
                log.warning(
                    "Stopping without writing the checkpoints; acknowledged lines since the last write are sent again.",
                    extra={"error": text},
                )
            return
        book.saved()
        if self.checkpoint_failure is not None:
            log.info(
                "The checkpoints are written again.",
                extra={"failing_for": round(now - self.checkpoint_failure.since, 1)},
            )
            self.checkpoint_failure = None
            self._save_retry = SAVE_RETRY_FIRST


def run_shipper(config: ShipperConfig, stop_event: threading.Event, once: bool = False) -> int:
    """Run the shipper until `stop_event` is set (or, with `once`, until everything present is acknowledged).

    Every shipper also follows the spools of `shipper exec` runs (shipper.jobs.spool.job_input)."""
    from shipper.jobs.spool import with_job_input

    config = with_job_input(config)
    try:
        shipper = Shipper(config, stop_event, once)
    except StateLocked as error:
        raise ShipperError(str(error)) from None
    except CheckpointError as error:
        raise ShipperError(f"the checkpoints cannot be read: {error}") from None
    except OSError as error:
        where = error.filename or config.shipper.state_dir
        raise ShipperError(f"cannot use {where}: {error.strerror or error}") from None
    return shipper.run()
