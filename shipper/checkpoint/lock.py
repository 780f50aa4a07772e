"""One shipper per state directory: an exclusive lock on `<state_dir>/shipper.lock`, released by the OS on exit."""

import os
from pathlib import Path
from typing import BinaryIO

from shipper import platform


class StateLocked(Exception):
    """Another shipper holds the state directory."""


class StateLock:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "shipper.lock"
        self.handle: BinaryIO | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+b")  # noqa: SIM115 - held for the process's life
        try:
            platform.lock_exclusive(handle.fileno())
        except OSError:
            handle.close()
            raise StateLocked(f"another shipper is running with the state directory {self.path.parent}") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n".encode())
        handle.flush()
        self.handle = handle

    def holder(self) -> int | None:
        """The pid of the running shipper that holds this lock, 0 when one holds it but its pid cannot be read, None
        when none does. Takes the lock for a moment when it is free."""
        if not self.path.exists():
            return None
        try:
            self.acquire()
        except StateLocked:
            try:
                text = self.path.read_text(encoding="ascii").strip()
            except (OSError, UnicodeDecodeError):  # Windows refuses reads of a locked range
                return 0
            return int(text) if text.isdigit() else 0
        except OSError:
            return None
        self.release()
        return None

    def release(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None
