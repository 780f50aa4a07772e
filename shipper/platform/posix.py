"""Linux (and other POSIX) side of the platform seam."""

import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import BinaryIO


def open_for_reading(path: str) -> BinaryIO:
    """The file opened for binary reading, unbuffered; renames and unlinks by others are never blocked on POSIX."""
    return open(path, "rb", buffering=0)


def file_identity(fd: int) -> str:
    """`dev:<st_dev>/ino:<st_ino>` of the open file."""
    st = os.fstat(fd)
    if st.st_ino == 0:
        return ""
    return f"dev:{st.st_dev}/ino:{st.st_ino}"


def is_delete_pending(fd: int) -> bool:
    """Never: an unlinked file on POSIX keeps no name."""
    return False


def install_stop_handlers(request_stop: Callable[[], None], wait_stopped: Callable[[float], bool]) -> None:
    """SIGTERM and SIGINT call `request_stop()`; SIGHUP is ignored with a log line (its default would end the
    process silently). (`wait_stopped` is for Windows, where handlers must block.)"""

    def handle(signum: int, frame: object) -> None:
        request_stop()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    hangup = getattr(signal, "SIGHUP", None)  # absent on Windows
    if hangup is not None:
        signal.signal(hangup, _ignore_hangup)


def _ignore_hangup(signum: int, frame: object) -> None:
    # Reloading is not supported yet: the file table, the producer and the metrics server are built once from the
    # config, and rebuilding them live is a change of its own. A restart applies a changed config.
    logging.getLogger("shipper").warning(
        "SIGHUP received; the shipper does not reload its configuration and keeps running. Restart it to apply changes.",
        extra={"signal": "SIGHUP"},
    )


def lock_exclusive(fd: int) -> None:
    """Take an exclusive lock on the open file, released by the OS when the process ends; OSError when held."""
    if sys.platform == "win32":  # this module is the POSIX side; the guard lets mypy check it for Windows too
        raise OSError("lock_exclusive of posix.py called on Windows")
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def replace_file(source: str, target: str) -> None:
    """Atomically put `source` in place of `target`."""
    os.replace(source, target)
