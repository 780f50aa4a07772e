"""WAL checkpoints off the write path: a thread with a connection of its own copies the WAL back into the database.

SQLite's automatic checkpoint runs inside the commit that crosses `wal_autocheckpoint`: one flush in ~25 (at 1,500
rows a flush) took ~200 ms longer on a quiet machine, 0.4-2 s on a loaded one (bench/sink_flushes.py), and every
record waiting for the next flush waited for it too. The sink's connection therefore has automatic checkpoints off
(`wal_autocheckpoint=0`) and this checkpointer does them instead:

- After a commit (`poke`), at most once per `interval` seconds, a PASSIVE checkpoint: it never takes the write lock
  and never waits for a reader, so the writer goes on committing meanwhile (its I/O releases the GIL). Once a
  checkpoint has copied every frame back, the writer's next transaction starts the WAL from its beginning again, and
  that commit cuts the file back to `journal_size_limit` (sqlite_db.connect).
- The bound: a writer that never pauses between commits (a backfill) can keep every PASSIVE checkpoint from
  finishing, and the WAL would grow for as long as the backfill lasts. Once the WAL holds more than `restart_bytes`,
  the thread tries a RESTART checkpoint: if no write is in flight at that moment it takes the write lock for the
  little the PASSIVE one left, and the next write starts the WAL anew. It never waits (busy timeout 0): a RESTART
  that waits for a reader holds every writer back meanwhile, so one that would have to wait for the writer or a
  reader does what it can without waiting, as a PASSIVE one, and the next turn tries again.
- The last resort: should the WAL file still grow beyond HARD_BOUND_FACTOR times `restart_bytes` (every try of the
  thread met a write in flight, or it was starved of CPU or I/O), the writer restarts it itself right after a
  commit (`bound`, on its own connection, also never waiting): a checkpoint on the write path, but only of what the
  thread has not copied yet, and only when the thread could not do it.
  Only a reader holding an old snapshot can keep the WAL from restarting, as it would keep any checkpoint.

The thread only ever runs `wal_checkpoint`; it holds no read transaction, so it never keeps the WAL from restarting.
A failed checkpoint (a busy or full database) is logged and tried again at the next turn; `close` stops the thread
within one checkpoint.
"""

import logging
import os
import sqlite3
import threading
from dataclasses import dataclass
from enum import Enum

log = logging.getLogger(__name__)

CHECKPOINT_INTERVAL = 1.0  # seconds between two checkpoints while commits come
HARD_BOUND_FACTOR = 2  # the WAL file's size, in restart_bytes, beyond which the writer checkpoints it itself


class Mode(Enum):
    """The checkpoint modes used here (SQLite's names)."""

    PASSIVE = "PASSIVE"
    RESTART = "RESTART"


@dataclass(frozen=True)
class Outcome:
    """One checkpoint: its mode, whether it could not finish (a reader or writer in the way), the WAL's frames and
    how many of them are in the database now."""

    mode: Mode
    busy: bool
    wal_frames: int
    checkpointed_frames: int


class Checkpointer:
    """Checkpoints the WAL of the database at `path` on a thread of its own; the sink calls `poke` after a commit."""

    def __init__(self, path: str, *, page_size: int, restart_bytes: int, interval: float = CHECKPOINT_INTERVAL) -> None:
        self.path = path
        self.page_size = page_size
        self.restart_bytes = restart_bytes
        self.interval = interval
        self.last: Outcome | None = None  # the latest checkpoint's outcome (for tests and benchmarks)
        self.restarts = 0  # RESTART checkpoints tried by the thread
        self.bounded = 0  # RESTART checkpoints the writer tried itself (`bound`)
        self._wal = path + "-wal"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._connection: sqlite3.Connection | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Open the checkpointer's connection and start its thread. Raises sqlite3.Error if the file cannot be opened."""
        # timeout 0: no checkpoint here ever waits for a lock (see the module's docstring).
        connection = sqlite3.connect(self.path, timeout=0, isolation_level=None, check_same_thread=False)
        try:
            connection.execute("PRAGMA journal_mode=WAL").fetchall()
        except sqlite3.Error:
            connection.close()
            raise
        self._connection = connection
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpointer", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        """A commit added frames to the WAL: checkpoint them soon (at once if the last checkpoint is `interval` old)."""
        self._wake.set()

    def bound(self, writer: sqlite3.Connection) -> bool:
        """Called by the writer after a commit: if the WAL file grew beyond HARD_BOUND_FACTOR * restart_bytes (the
        thread fell behind), checkpoint and restart it now on `writer`'s connection; whether it did."""
        try:
            size = os.stat(self._wal).st_size
        except FileNotFoundError:
            return False
        if size <= HARD_BOUND_FACTOR * self.restart_bytes:
            return False
        self.bounded += 1
        try:
            # Never waits: the thread checkpointing meanwhile, or a reader on an old snapshot, makes it busy (it then
            # copies what it can), and the next commit tries again.
            (timeout,) = writer.execute("PRAGMA busy_timeout").fetchone()
            writer.execute("PRAGMA busy_timeout = 0")
            try:
                outcome = self._run_checkpoint(writer, Mode.RESTART)
            finally:
                writer.execute(f"PRAGMA busy_timeout = {int(timeout)}")
        except sqlite3.Error as error:
            log.warning("The WAL is over its bound and could not be checkpointed; it is tried again after the next "
                        "commit.", extra={"error": str(error), "wal_bytes": size})
            return False
        log.info("The WAL grew over its bound before the checkpoint thread could restart it; the writer restarted it.",
                 extra={"wal_bytes": size, "busy": outcome.busy})
        return True

    def close(self) -> None:
        """Stop the thread (after the checkpoint it may be running) and close its connection."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if self._stop.is_set():
                return
            self._wake.clear()
            self.checkpoint()
            if self._stop.wait(self.interval):
                return

    def checkpoint(self) -> Outcome | None:
        """One turn: PASSIVE, then RESTART if the WAL holds more than `restart_bytes`. None if it failed."""
        connection = self._connection
        if connection is None:
            return None
        try:
            outcome = self._run_checkpoint(connection, Mode.PASSIVE)
            if outcome.wal_frames * self.page_size > self.restart_bytes:
                self.restarts += 1
                outcome = self._run_checkpoint(connection, Mode.RESTART)
        except sqlite3.Error as error:
            log.warning("A WAL checkpoint failed; it is tried again after the next commit.", extra={"error": str(error)})
            return None
        self.last = outcome
        return outcome

    @staticmethod
    def _run_checkpoint(connection: sqlite3.Connection, mode: Mode) -> Outcome:
        busy, frames, done = connection.execute(f"PRAGMA wal_checkpoint({mode.value})").fetchone()
        return Outcome(mode, bool(busy), max(0, int(frames)), max(0, int(done)))
