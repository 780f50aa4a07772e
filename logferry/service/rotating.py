"""A service has no stderr: its command's output goes to a log file that rotates by size (bounded on disk)."""

import io
import os
import threading

MAX_BYTES = 10_000_000
BACKUPS = 5


class RotatingLog(io.TextIOBase):
    """A text stream over `path`: once a write would take it past `max_bytes`, path.1 .. path.<backups> shift by one
    (the oldest is dropped) and a new file begins. Thread-safe; never a terminal."""

    def __init__(self, path: str, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> None:
        super().__init__()
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self._lock = threading.Lock()
        self._file = open(path, "a", encoding="utf-8", errors="replace")  # noqa: SIM115 - the stream owns it
        self._size = self._file.tell()

    def write(self, text: str) -> int:
        with self._lock:
            if self._file.closed:
                return 0
            size = len(text.encode("utf-8", "replace"))
            if self._size and self._size + size > self.max_bytes:
                self._rotate()
            self._file.write(text)
            self._file.flush()
            self._size += size
        return len(text)

    def _rotate(self) -> None:
        self._file.close()
        for index in range(self.backups - 1, 0, -1):
            older = f"{self.path}.{index}"
            if os.path.exists(older):
                os.replace(older, f"{self.path}.{index + 1}")
        if self.backups > 0:
            os.replace(self.path, f"{self.path}.1")
        else:
            os.remove(self.path)
        self._file = open(self.path, "w", encoding="utf-8", errors="replace")  # noqa: SIM115 - the stream owns it
        self._size = 0

    def flush(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.flush()

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def close(self) -> None:
        with self._lock:
            self._file.close()
        super().close()
