"""The job on Linux (and other POSIX systems): a process group of its own (see shipper.jobs.child)."""

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import IO

from shipper.jobs.child import CannotStart, ChildExit

FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP")


class PosixChild:
    def __init__(self, process: "subprocess.Popen[bytes]") -> None:
        self._process = process
        self.pid = process.pid
        assert process.stdout is not None and process.stderr is not None
        self.stdout: IO[bytes] = process.stdout
        self.stderr: IO[bytes] = process.stderr

    @classmethod
    def start(cls, argv: Sequence[str]) -> "PosixChild":
        try:
            process = subprocess.Popen(
                list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0,
                process_group=0,
            )
        except FileNotFoundError as error:
            raise CannotStart(f"{argv[0]}: {error.strerror or error}", 127) from None
        except PermissionError as error:
            raise CannotStart(f"{argv[0]}: {error.strerror or error}", 126) from None
        except OSError as error:
            raise CannotStart(f"{argv[0]}: {error.strerror or error}", 126) from None
        return cls(process)

    def wait(self) -> ChildExit:
        if sys.platform == "win32":  # this module is the POSIX side; the guard lets mypy check it for Windows too
            raise OSError("PosixChild.wait called on Windows")
        _, status, usage = os.wait4(self.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        self._process.returncode = code  # reaped here: Popen must not wait for it again
        cpu_ms = (usage.ru_utime + usage.ru_stime) * 1000.0
        peak = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)  # Linux: KiB; macOS: bytes
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return ChildExit(128 - code, signal=name, cpu_ms=cpu_ms, peak_memory_bytes=peak)
        return ChildExit(code, cpu_ms=cpu_ms, peak_memory_bytes=peak)

    def _signal_group(self, sig: int) -> None:
        if sys.platform == "win32":  # the POSIX side; the guard lets mypy check it for Windows too
            raise OSError("process groups are POSIX")
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass  # the group is gone

    def stop_tree(self) -> None:
        self._signal_group(signal.SIGTERM)

    def kill_tree(self) -> None:
        self._signal_group(getattr(signal, "SIGKILL", signal.SIGTERM))

    def alive_in_tree(self) -> bool:
        if sys.platform == "win32":
            raise OSError("process groups are POSIX")
        try:
            os.killpg(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def forward_stop_requests(self, finished: threading.Event, after: Callable[[], None]) -> None:
        def forward(signum: int, frame: object) -> None:
            if finished.is_set():
                after()
            else:
                self._signal_group(signum)

        for name in FORWARDED:
            signal.signal(getattr(signal, name), forward)
