"""File-system events as hints: they make a rescan or a read happen sooner, never decide anything.

watchdog drops events under load (its Windows buffer overflows silently), so the periodic rescan stays the
source of truth; this only shortens the wait.
"""

import glob
import logging
import os
import threading
from typing import Any

log = logging.getLogger("shipper.discovery")


def watch_roots(patterns: list[str]) -> set[str]:
    """The existing directories above the first wildcard of each pattern."""
    roots = set()
    for pattern in patterns:
        parts = pattern.replace("\\", "/").split("/")
        fixed = []
        for part in parts[:-1]:
            if glob.has_magic(part):
                break
            fixed.append(part)
        root = "/".join(fixed) or "."
        if pattern.startswith("/") and not root.startswith("/"):
            root = "/" + root
        # Watching a whole file system (a glob starting with a wildcard) costs more than it saves.
        if os.path.isdir(root) and os.path.dirname(os.path.abspath(root)) != os.path.abspath(root):
            roots.add(root)
    return roots


class Hints:
    """Collects changed paths from watchdog; `take()` returns and clears them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._paths: set[str] = set()
        self.rescan = threading.Event()
        self._observer: Any = None

    def start(self, patterns: list[str]) -> None:
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
        with self._lock:
            if len(self._paths) < 10_000:
                self._paths.add(path)
        if kind != "modified":
            self.rescan.set()

    def take(self) -> set[str]:
        with self._lock:
            paths, self._paths = self._paths, set()
        return paths

    def stop(self) -> None:
        if self._observer is not None:
            # watchdog logs an error when its emitter is stopped mid-read; stopping is what we asked for.
            logging.getLogger("watchdog.observers.inotify").setLevel(logging.CRITICAL)
            self._observer.stop()
            self._observer.join(timeout=2)
            self._observer = None
