"""Windows side of the platform seam: every Windows system call of the shipper lives here.

(First version: the portable fallbacks. The Windows issue replaces them with CreateFileW share-delete opens,
handle-based identity, delete-pending detection and SetConsoleCtrlHandler.)
"""

import os
import signal
from collections.abc import Callable
from typing import BinaryIO


def open_for_reading(path: str) -> BinaryIO:
    return open(path, "rb", buffering=0)


def file_identity(fd: int) -> str:
    st = os.fstat(fd)
    if st.st_ino == 0:
        return ""
    return f"vol:{st.st_dev}/fid:{st.st_ino}"


def is_delete_pending(fd: int) -> bool:
    return False


def install_stop_handlers(request_stop: Callable[[], None], wait_stopped: Callable[[float], bool]) -> None:
    def handle(signum: int, frame: object) -> None:
        request_stop()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
