"""Console control events (Ctrl+C, Ctrl+Break, close, logoff, shutdown) to the one stop request.

They go through SetConsoleCtrlHandler; for the events after which Windows kills the process, the handler blocks
until the flush and checkpoint are done. Python-level SIGINT/SIGBREAK request the stop too.
"""

import ctypes
import signal
import sys
from collections.abc import Callable
from typing import Any

from logferry.windows import api

CTRL_C_EVENT = 0
CTRL_BREAK_EVENT = 1
CTRL_CLOSE_EVENT = 2
CTRL_LOGOFF_EVENT = 5
CTRL_SHUTDOWN_EVENT = 6

# Seconds the handler may block before returning. Windows kills the process when the handler returns from these
# events, or after 5 s (close) / 20 s (logoff, shutdown) at the latest; we stay just under. Ctrl+C and Ctrl+Break
# are not followed by a kill, so the handler returns at once and the main thread finishes the flush.
CONSOLE_EVENT_ALLOWANCE: dict[int, float] = {
    CTRL_C_EVENT: 0.0,
    CTRL_BREAK_EVENT: 0.0,
    CTRL_CLOSE_EVENT: 4.5,
    CTRL_LOGOFF_EVENT: 19.0,
    CTRL_SHUTDOWN_EVENT: 19.0,
}

_installed_console_handler: list[Any] = []
"""Keeps the ctypes callback alive for as long as Windows may call it."""


def console_event_handler(request_stop: Callable[[], None], wait_stopped: Callable[[float], bool]) -> Callable[[int], bool]:
    """The handler logic for one console control event: True when handled (Windows then calls no other handler)."""

    def handle(event: int) -> bool:
        allowance = CONSOLE_EVENT_ALLOWANCE.get(event)
        if allowance is None:
            return False
        request_stop()
        if allowance > 0:
            wait_stopped(allowance)
        return True

    return handle


def install_stop_handlers(request_stop: Callable[[], None], wait_stopped: Callable[[float], bool]) -> None:
    """Console control events and Python-level SIGINT/SIGBREAK call `request_stop()`."""
    _win_set_console_ctrl_handler(console_event_handler(request_stop, wait_stopped))

    def handle_signal(signum: int, frame: object) -> None:
        request_stop()

    signal.signal(signal.SIGINT, handle_signal)
    if hasattr(signal, "SIGBREAK"):
        signal.signal(signal.SIGBREAK, handle_signal)


# --- System calls ------------------------------------------------------------------------------------------------


def _declare(k32: Any) -> None:
    from ctypes import wintypes

    k32.SetConsoleCtrlHandler.argtypes = [ctypes.c_void_p, wintypes.BOOL]
    k32.SetConsoleCtrlHandler.restype = wintypes.BOOL


def _win_set_console_ctrl_handler(handler: Callable[[int], bool]) -> None:
    if sys.platform != "win32":
        raise OSError("console control handlers exist only on Windows")
    from ctypes import wintypes

    routine = ctypes.WINFUNCTYPE(wintypes.BOOL, wintypes.DWORD)(lambda event: bool(handler(int(event))))
    if not api.library("kernel32", _declare).SetConsoleCtrlHandler(ctypes.cast(routine, ctypes.c_void_p), True):
        raise api.last_error("SetConsoleCtrlHandler")
    _installed_console_handler.append(routine)
