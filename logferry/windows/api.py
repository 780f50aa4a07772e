"""The Win32 libraries, loaded once, and OSError from a Windows error code: what the modules beside this one share.

Each module declares the signatures of the functions it calls (`declare`), once, on its first call; nothing is
loaded at import time, so the modules import on every platform and their logic is testable on Linux.
"""

import ctypes
import sys
from collections.abc import Callable
from typing import Any

_loaded: dict[str, Any] = {}
"""The libraries by name, loaded with use_last_error (ctypes.get_last_error then reads the failed call's error)."""
_declared: set[Callable[[Any], None]] = set()
"""The `declare` functions already applied."""


def library(name: str, declare: Callable[[Any], None]) -> Any:
    """`name` ("kernel32", "advapi32"), with the signatures `declare(library)` sets applied once."""
    if sys.platform != "win32":
        raise OSError("the Windows API is not available on this platform")
    loaded = _loaded.get(name)
    if loaded is None:
        loaded = _loaded[name] = ctypes.WinDLL(name, use_last_error=True)
    if declare not in _declared:
        declare(loaded)
        _declared.add(declare)
    return loaded


def last_error(what: str, filename: str | None = None) -> OSError:
    """The OSError for the error of the last failed call of a library loaded here."""
    code = ctypes.get_last_error()  # type: ignore[attr-defined,unused-ignore]
    return error(code, what, filename)


def error(code: int, what: str, filename: str | None = None) -> OSError:
    """The OSError for Windows error `code`."""
    message = f"{what}: {ctypes.FormatError(code).strip()}" if sys.platform == "win32" else what  # type: ignore[attr-defined,unused-ignore]
    # With a winerror, OSError picks the matching subclass (FileNotFoundError for 2, PermissionError for 5/32...).
    return OSError(0, message, filename, code)
