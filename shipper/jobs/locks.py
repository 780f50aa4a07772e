"""The locks of a run, held by the OS for `exec`'s life (released however it ends, SIGKILL included):

- the run lock, next to the spool: held while `exec` writes the spool; free means its writer is gone;
- the job lock, with `--no-overlap`: held for the whole run; held means another run of the job is running.
"""

import os
from pathlib import Path
from typing import BinaryIO

from shipper import platform


class FileLock:
    """An exclusive lock on `path` (created if missing); `acquire` is False when another process holds it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: BinaryIO | None = None

    def acquire(self, *, record_pid: bool = True) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+b")  # noqa: SIM115 - held until release
        try:
            platform.lock_exclusive(handle.fileno())
        except OSError:
            handle.close()
            return False
        if record_pid:
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n".encode())
            handle.flush()
        self._handle = handle
        return True

    def holder(self) -> int | None:
        """The pid written by the holder, when it can be read (Windows refuses reads of a locked range)."""
        try:
            text = self.path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return int(text) if text.isdigit() else None

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> "FileLock":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
