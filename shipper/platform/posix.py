"""Linux (and other POSIX) side of the platform seam."""

import os
import signal
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
    """SIGTERM and SIGINT call `request_stop()`. (`wait_stopped` is for Windows, where handlers must block.)"""

    def handle(signum: int, frame: object) -> None:
        request_stop()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
