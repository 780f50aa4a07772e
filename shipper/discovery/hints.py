"""File-system events as hints: they make a rescan or a read happen sooner, never decide anything.

watchdog drops events under load (its Windows buffer overflows silently), so the periodic rescan stays the
source of truth; this only shortens the wait. `healthy` says when the events can be trusted to report every
change of a matched file, so that the runner may poll idle files and rescan rarely: on Linux (inotify), when
the kernel's own list of our watches holds every directory the last rescan took results from, on a local file
system, with no symlinked file among the results, and no overflow or watchdog error since that rescan.
"""

import glob
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from shipper.discovery.walk import never

log = logging.getLogger("shipper.discovery")

# watchdog's event kinds (FileSystemEvent.event_type) that say the content changed; other kinds but these
# UNCHANGED ones (an open, a close after reading) may change what the globs name. A close after writing asks
# for a rescan, as it always did: the rescan also finds a closed file that grew.
CONTENT = frozenset({"modified"})
UNCHANGED = frozenset({"opened", "closed_no_write"})
MAX_PATHS = 10_000  # changed paths kept between two takes; more count as an overflow
WAIT_SLICE = 0.25  # seconds between looks at the stop flag while waiting for events
# How long a stop waits for watchdog's threads. Its Windows reader cancels a blocked ReadDirectoryChangesW with
# CancelIoEx and then joins without a timeout; a cancel that comes just before the call starts cancels nothing,
# and the join lasts until the next change in the directory. A stop must not wait for that.
STOP_WAIT = 2.0
# File systems whose changes may come from elsewhere (another host, a user-space daemon): inotify sees only
# what this kernel does, so a watch on them says nothing about a file's growth.
REMOTE_FILE_SYSTEMS = ("nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "ceph", "glusterfs", "lustre", "afs", "gpfs", "virtiofs")


def watch_roots(patterns: list[str]) -> set[str]:
    """The existing directories above the first wildcard of each pattern."""
    roots = set()
    for pattern in patterns:
        root = _root(pattern)
        # Watching a whole file system (a glob starting with a wildcard) costs more than it saves.
        if os.path.isdir(root) and os.path.dirname(os.path.abspath(root)) != os.path.abspath(root):
            roots.add(root)
    return roots


def _root(pattern: str) -> str:
    parts = pattern.replace("\\", "/").split("/")
    fixed = []
    for part in parts[:-1]:
        if glob.has_magic(part):
            break
        fixed.append(part)
    root = "/".join(fixed) or "."
    if pattern.startswith("/") and not root.startswith("/"):
        root = "/" + root
    return root


def kernel_device(st_dev: int) -> int:
    """`st_dev` in the kernel's own encoding (major << 20 | minor), as /proc/<pid>/fdinfo prints `sdev`."""
    return (os.major(st_dev) << 20) | os.minor(st_dev)


def inotify_watches() -> set[tuple[int, int]] | None:
    """(kernel device, inode) of every directory this process's inotify instances watch; None if unknown."""
    watched: set[tuple[int, int]] = set()
    try:
        names = os.listdir("/proc/self/fdinfo")
    except OSError:
        return None
    for name in names:
        try:
            with open(f"/proc/self/fdinfo/{name}", "rb") as handle:
                text = handle.read()
        except OSError:
            continue  # closed meanwhile
        if b"inotify wd:" not in text:
            continue
        for line in text.splitlines():
            if not line.startswith(b"inotify wd:"):
                continue
            fields = dict(field.split(b":", 1) for field in line.split()[1:] if b":" in field)
            try:
                watched.add((int(fields[b"sdev"], 16), int(fields[b"ino"], 16)))
            except (KeyError, ValueError):
                return None  # a format we do not know: claim nothing
    return watched


def remote_devices() -> set[int] | None:
    """Kernel device numbers of mounted remote or FUSE file systems; None if unknown."""
    devices = set()
    try:
        with open("/proc/self/mountinfo") as handle:
            for line in handle:
                fields = line.split()
                kind = fields[fields.index("-") + 1]
                if kind in REMOTE_FILE_SYSTEMS or kind.startswith("fuse"):
                    major, minor = fields[2].split(":")
                    devices.add((int(major) << 20) | int(minor))
    except (OSError, ValueError, IndexError):
        return None
    return devices


class _Trouble(logging.Handler):
    """watchdog reports lost events (an inotify queue overflow) and failures only by logging them."""

    def __init__(self, hints: "Hints") -> None:
        super().__init__(logging.WARNING)
        self.hints = hints

    def emit(self, record: logging.LogRecord) -> None:
        self.hints.trouble()


class Hints:
    """Collects changed paths from watchdog; `take()` returns and clears them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._paths: set[str] = set()
        self._arrived = threading.Event()  # a changed path is waiting to be taken
        self.rescan = threading.Event()
        self._observer: Any = None
        self._trouble = _Trouble(self)
        self._troubled = False  # events lost or watchdog failed since the last rescan
        self._covered = False  # the last rescan found every directory it took results from watched
        self._patterns: list[str] = []

    def start(self, patterns: list[str]) -> None:
        self._patterns = list(patterns)
        try:
            from watchdog.events import FileSystemEvent, FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:
            return
        hints = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                hints.note(str(event.src_path), event.event_type)

        observer = Observer()
        watchdog_log = logging.getLogger("watchdog")
        watchdog_log.addHandler(self._trouble)
        if watchdog_log.getEffectiveLevel() > logging.WARNING:
            watchdog_log.setLevel(logging.WARNING)  # or its overflow warnings never reach the handler
        try:
            for root in sorted(watch_roots(patterns)):
                observer.schedule(Handler(), root, recursive=True)
            observer.daemon = True
            observer.start()
        except OSError as error:
            log.warning("File-system events are not available; relying on rescans.", extra={"error": str(error)})
            return
        self._observer = observer

    def note(self, path: str, kind: str) -> None:
        if kind in UNCHANGED:
            return  # someone (often we) opened or read the file: nothing to ship, nothing to find
        with self._lock:
            if len(self._paths) < MAX_PATHS:
                self._paths.add(path)
            else:
                self._troubled = True  # a change we drop is a change a rare poll would miss
        self._arrived.set()
        if kind not in CONTENT:
            self.rescan.set()  # created, deleted or moved: what the globs name may have changed

    def wait(self, timeout: float, should_stop: Callable[[], bool] = never) -> bool:
        """Wait up to `timeout` seconds for a changed path or a rescan request; True if one came.

        `should_stop` is asked every WAIT_SLICE seconds (a signal handler can only set a flag), so a stop
        is noticed as soon as by the loop's usual 50 ms turns, give or take a slice, for far fewer wake-ups."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or should_stop():
                return self.rescan.is_set()
            if self._arrived.wait(min(left, WAIT_SLICE)):
                return True

    def trouble(self) -> None:
        """Events may have been lost: not healthy until a rescan has looked at everything again."""
        self._troubled = True
        self.rescan.set()
        self._arrived.set()

    def take(self) -> set[str]:
        with self._lock:
            paths, self._paths = self._paths, set()
            self._arrived.clear()
        return paths

    @property
    def healthy(self) -> bool:
        """True while every change of a matched file is known to become an event (see the module's docstring)."""
        observer = self._observer
        return (
            self._covered
            and not self._troubled
            and observer is not None
            and observer.is_alive()
            and all(emitter.is_alive() for emitter in observer.emitters)
        )

    def scanned(self, directories: set[tuple[int, int]], linked_files: int) -> None:
        """After each complete rescan: whether the watches cover where its results came from, and trust restored.

        `directories` holds (st_dev, st_ino) of every directory the rescan took results from (Scanner.directories),
        `linked_files` how many files it found are symlinks (Scanner.linked_files).
        """
        self._troubled = False
        self._covered = self._observer is not None and linked_files == 0 and self._watches_cover(directories)

    def _watches_cover(self, directories: set[tuple[int, int]]) -> bool:
        if not sys.platform.startswith("linux"):
            return False  # only inotify's watches can be checked, and other back ends drop events silently
        if any(_root(pattern) not in watch_roots([pattern]) for pattern in self._patterns):
            return False  # a root missing or too wide to watch
        watched = inotify_watches()
        remote = remote_devices()
        if watched is None or remote is None:
            return False
        for st_dev, st_ino in directories:
            device = kernel_device(st_dev)
            if device in remote or (device, st_ino) not in watched:
                return False
        return True

    def stop(self) -> None:
        logging.getLogger("watchdog").removeHandler(self._trouble)
        self._covered = False
        if self._observer is not None:
            # watchdog logs an error when its emitter is stopped mid-read; stopping is what we asked for.
            logging.getLogger("watchdog.observers.inotify").setLevel(logging.CRITICAL)
            observer, self._observer = self._observer, None
            stopper = threading.Thread(target=_stop_observer, args=(observer,), name="hints-stop", daemon=True)
            stopper.start()
            stopper.join(STOP_WAIT)
            if stopper.is_alive():
                log.info(
                    "The file-system watch did not stop in time; its threads end with the process.",
                    extra={"waited": STOP_WAIT},
                )


def _stop_observer(observer: Any) -> None:
    """watchdog's stop, then its join: both may block (see STOP_WAIT), so this runs in a thread of its own."""
    observer.stop()
    observer.join(timeout=STOP_WAIT)
