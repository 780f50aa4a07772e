"""Windows side of the platform seam: every Windows system call of the shipper lives here.

- Files are opened with CreateFileW and FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, then wrapped with
  msvcrt.open_osfhandle, so a writer can rename or delete a log while we read it (Python's open() omits
  FILE_SHARE_DELETE and makes the writer's rotation fail with winerror 32).
- Identity and delete-pending come from the open handle (GetFileInformationByHandle[Ex]).
- Console control events (Ctrl+C, Ctrl+Break, close, logoff, shutdown) go through SetConsoleCtrlHandler; for the
  events after which Windows kills the process, the handler blocks until the flush and checkpoint are done.
- The state directory's DACL is replaced by a protected one (SYSTEM, Administrators, the service SID).

The module imports on every platform: the system calls are the `_win_*` functions, bound on first use, so the
logic around them is testable on Linux with those functions replaced. mypy checks the Windows branches with
`--platform win32`.
"""

import ctypes
import hashlib
import os
import signal
import struct
import sys
from collections.abc import Callable
from typing import Any, BinaryIO

from shipper.platform.paths import extended_path

GENERIC_READ = 0x80000000
FILE_SHARE_ALL = 0x1 | 0x2 | 0x4  # FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE
OPEN_EXISTING = 3
FILE_ATTRIBUTE_NORMAL = 0x80
INVALID_HANDLE_VALUE = ctypes.c_void_p(-1).value
FILE_STANDARD_INFO_CLASS = 1
FILE_ID_INFO_CLASS = 18
ERROR_INVALID_PARAMETER = 87
ERROR_NOT_SUPPORTED = 50
ERROR_INVALID_FUNCTION = 1

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

UNKNOWN_FILE_IDS = (0, 2**64 - 1, 2**128 - 1)
"""File ids that mean "no id" (FAT, some network redirectors, FILE_INVALID_FILE_ID)."""


# --- Files -------------------------------------------------------------------------------------------------------


def open_for_reading(path: str) -> BinaryIO:
    """`path` opened for unbuffered binary reading with read/write/delete sharing."""
    return open(path, "rb", buffering=0, opener=_share_delete_opener)


def _share_delete_opener(path: str, flags: int) -> int:
    handle = _win_create_file_shared(extended_path(path, os.getcwd()))
    try:
        return _win_fd_from_handle(handle)
    except BaseException:
        _win_close_handle(handle)
        raise


def identity_string(volume_serial: int, file_id: int) -> str:
    """`vol:<serial>/fid:<id>` in decimal, or "" when the file id is unknown (the caller then fingerprints)."""
    if file_id in UNKNOWN_FILE_IDS:
        return ""
    return f"vol:{volume_serial}/fid:{file_id}"


def file_identity(fd: int) -> str:
    """Volume serial and file id of the open file: the 128-bit id (FileIdInfo, ReFS-safe), else the 64-bit index."""
    handle = _win_handle_from_fd(fd)
    ids = _win_query_file_id_info(handle)
    identity = identity_string(*ids) if ids is not None else ""
    if not identity:
        identity = identity_string(*_win_query_file_index(handle))
    return identity


def is_delete_pending(fd: int) -> bool:
    """True when the open file was deleted: DeletePending is set (the name stays reserved while handles are open),
    or no link is left (POSIX delete semantics, where the name is already free)."""
    delete_pending, links = _win_query_standard_info(_win_handle_from_fd(fd))
    return delete_pending or links == 0


# --- Stopping ----------------------------------------------------------------------------------------------------

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


# --- State directory access --------------------------------------------------------------------------------------


def lock_exclusive(fd: int) -> None:
    """Lock the file's first byte for this process (msvcrt.locking); OSError when another process holds it."""
    if sys.platform != "win32":
        raise OSError("lock_exclusive of windows.py called off Windows")
    import msvcrt

    os.lseek(fd, 0, os.SEEK_SET)
    msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)


def replace_file(source: str, target: str, attempts: int = 50) -> None:
    """os.replace, retried for a while: on Windows it fails (winerror 5 or 32) while another process, such as
    `shipper status` or an antivirus scanner, has the target open without delete sharing."""
    import time

    for attempt in range(attempts):
        try:
            os.replace(source, target)
            return
        except PermissionError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.02 * (attempt + 1))


def service_sid(service_name: str) -> str:
    """The SID Windows gives `NT SERVICE\\<name>`: S-1-5-80 followed by the SHA-1 of the upper-cased UTF-16 name."""
    digest = hashlib.sha1(service_name.upper().encode("utf-16-le")).digest()
    return "S-1-5-80-" + "-".join(str(part) for part in struct.unpack("<5I", digest))


def private_directory_sddl(*sids: str) -> str:
    """A protected DACL (no inherited entries) giving full control to SYSTEM, Administrators and `sids`,
    inherited by files and subfolders."""
    entries = "".join(f"(A;OICI;FA;;;{sid})" for sid in ("SY", "BA", *sids))
    return f"D:P{entries}"


def make_private_directory(path: str, service_name: str) -> None:
    """Create `path` (and parents) and leave access to it only to SYSTEM, Administrators and the service."""
    os.makedirs(path, exist_ok=True)
    _win_set_directory_dacl(path, private_directory_sddl(service_sid(service_name)))


def directory_sddl(path: str) -> str:
    """The DACL of `path` in SDDL (for `service status` and tests)."""
    return _win_get_directory_dacl(path)


# --- System calls ------------------------------------------------------------------------------------------------
# Everything below talks to Windows. Each function is small so tests on Linux can replace it.


_bound: list[Any] = []
"""kernel32 and advapi32 with their signatures declared, once bound."""


def _kernel32() -> Any:
    if sys.platform != "win32":
        raise OSError("the Windows API is not available on this platform")
    from ctypes import wintypes

    if not _bound:
        k32 = ctypes.WinDLL("kernel32", use_last_error=True)
        k32.CreateFileW.argtypes = [
            wintypes.LPCWSTR, wintypes.DWORD, wintypes.DWORD, ctypes.c_void_p, wintypes.DWORD, wintypes.DWORD,
            wintypes.HANDLE,
        ]
        k32.CreateFileW.restype = wintypes.HANDLE
        k32.CloseHandle.argtypes = [wintypes.HANDLE]
        k32.CloseHandle.restype = wintypes.BOOL
        k32.GetFileInformationByHandleEx.argtypes = [wintypes.HANDLE, ctypes.c_int, ctypes.c_void_p, wintypes.DWORD]
        k32.GetFileInformationByHandleEx.restype = wintypes.BOOL
        k32.GetFileInformationByHandle.argtypes = [wintypes.HANDLE, ctypes.c_void_p]
        k32.GetFileInformationByHandle.restype = wintypes.BOOL
        k32.SetConsoleCtrlHandler.argtypes = [ctypes.c_void_p, wintypes.BOOL]
        k32.SetConsoleCtrlHandler.restype = wintypes.BOOL
        k32.LocalFree.argtypes = [ctypes.c_void_p]
        k32.LocalFree.restype = ctypes.c_void_p
        advapi32 = ctypes.WinDLL("advapi32", use_last_error=True)
        advapi32.ConvertStringSecurityDescriptorToSecurityDescriptorW.argtypes = [
            wintypes.LPCWSTR, wintypes.DWORD, ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p,
        ]
        advapi32.ConvertStringSecurityDescriptorToSecurityDescriptorW.restype = wintypes.BOOL
        advapi32.GetSecurityDescriptorDacl.argtypes = [
            ctypes.c_void_p, ctypes.POINTER(wintypes.BOOL), ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(wintypes.BOOL),
        ]
        advapi32.GetSecurityDescriptorDacl.restype = wintypes.BOOL
        advapi32.SetNamedSecurityInfoW.argtypes = [
            wintypes.LPWSTR, ctypes.c_int, wintypes.DWORD, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        advapi32.SetNamedSecurityInfoW.restype = wintypes.DWORD
        advapi32.GetNamedSecurityInfoW.argtypes = [
            wintypes.LPCWSTR, ctypes.c_int, wintypes.DWORD, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
            ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p),
        ]
        advapi32.GetNamedSecurityInfoW.restype = wintypes.DWORD
        advapi32.ConvertSecurityDescriptorToStringSecurityDescriptorW.argtypes = [
            ctypes.c_void_p, wintypes.DWORD, wintypes.DWORD, ctypes.POINTER(wintypes.LPWSTR), ctypes.c_void_p,
        ]
        advapi32.ConvertSecurityDescriptorToStringSecurityDescriptorW.restype = wintypes.BOOL
        _bound.extend([k32, advapi32])
    return _bound[0]


def _advapi32() -> Any:
    _kernel32()
    return _bound[1]


def _last_error(what: str, filename: str | None = None) -> OSError:
    code = ctypes.get_last_error()  # type: ignore[attr-defined,unused-ignore]
    return _error(code, what, filename)


def _error(code: int, what: str, filename: str | None = None) -> OSError:
    message = f"{what}: {ctypes.FormatError(code).strip()}" if sys.platform == "win32" else what  # type: ignore[attr-defined,unused-ignore]
    # With a winerror, OSError picks the matching subclass (FileNotFoundError for 2, PermissionError for 5/32...).
    return OSError(0, message, filename, code)


def _win_create_file_shared(path: str) -> int:
    handle = _kernel32().CreateFileW(path, GENERIC_READ, FILE_SHARE_ALL, None, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, None)
    if handle is None or handle == INVALID_HANDLE_VALUE:
        raise _last_error("CreateFileW", path)
    return int(handle)


def _win_close_handle(handle: int) -> None:
    _kernel32().CloseHandle(handle)


def _win_fd_from_handle(handle: int) -> int:
    if sys.platform != "win32":
        raise OSError("msvcrt is not available on this platform")
    import msvcrt

    return msvcrt.open_osfhandle(handle, os.O_RDONLY | os.O_BINARY)


def _win_handle_from_fd(fd: int) -> int:
    if sys.platform != "win32":
        raise OSError("msvcrt is not available on this platform")
    import msvcrt

    return msvcrt.get_osfhandle(fd)


class _FileIdInfo(ctypes.Structure):
    _fields_ = [("VolumeSerialNumber", ctypes.c_ulonglong), ("FileId", ctypes.c_ubyte * 16)]


class _FileStandardInfo(ctypes.Structure):
    _fields_ = [
        ("AllocationSize", ctypes.c_longlong),
        ("EndOfFile", ctypes.c_longlong),
        ("NumberOfLinks", ctypes.c_uint32),
        ("DeletePending", ctypes.c_ubyte),
        ("Directory", ctypes.c_ubyte),
    ]


class _FileTime(ctypes.Structure):
    _fields_ = [("low", ctypes.c_uint32), ("high", ctypes.c_uint32)]


class _ByHandleFileInformation(ctypes.Structure):
    _fields_ = [
        ("dwFileAttributes", ctypes.c_uint32),
        ("ftCreationTime", _FileTime),
        ("ftLastAccessTime", _FileTime),
        ("ftLastWriteTime", _FileTime),
        ("dwVolumeSerialNumber", ctypes.c_uint32),
        ("nFileSizeHigh", ctypes.c_uint32),
        ("nFileSizeLow", ctypes.c_uint32),
        ("nNumberOfLinks", ctypes.c_uint32),
        ("nFileIndexHigh", ctypes.c_uint32),
        ("nFileIndexLow", ctypes.c_uint32),
    ]


def _win_query_file_id_info(handle: int) -> tuple[int, int] | None:
    """(volume serial, 128-bit file id), or None where FileIdInfo is not supported (before Windows 8/2012, FAT...)."""
    info = _FileIdInfo()
    if not _kernel32().GetFileInformationByHandleEx(handle, FILE_ID_INFO_CLASS, ctypes.byref(info), ctypes.sizeof(info)):
        code = ctypes.get_last_error()  # type: ignore[attr-defined,unused-ignore]
        if code in (ERROR_INVALID_PARAMETER, ERROR_NOT_SUPPORTED, ERROR_INVALID_FUNCTION):
            return None
        raise _error(code, "GetFileInformationByHandleEx(FileIdInfo)")
    return int(info.VolumeSerialNumber), int.from_bytes(bytes(info.FileId), "little")


def _win_query_file_index(handle: int) -> tuple[int, int]:
    """(32-bit volume serial, 64-bit file index)."""
    info = _ByHandleFileInformation()
    if not _kernel32().GetFileInformationByHandle(handle, ctypes.byref(info)):
        raise _last_error("GetFileInformationByHandle")
    return int(info.dwVolumeSerialNumber), (int(info.nFileIndexHigh) << 32) | int(info.nFileIndexLow)


def _win_query_standard_info(handle: int) -> tuple[bool, int]:
    """(DeletePending, NumberOfLinks)."""
    info = _FileStandardInfo()
    if not _kernel32().GetFileInformationByHandleEx(
        handle, FILE_STANDARD_INFO_CLASS, ctypes.byref(info), ctypes.sizeof(info)
    ):
        raise _last_error("GetFileInformationByHandleEx(FileStandardInfo)")
    return bool(info.DeletePending), int(info.NumberOfLinks)


def _win_set_console_ctrl_handler(handler: Callable[[int], bool]) -> None:
    if sys.platform != "win32":
        raise OSError("console control handlers exist only on Windows")
    from ctypes import wintypes

    routine = ctypes.WINFUNCTYPE(wintypes.BOOL, wintypes.DWORD)(lambda event: bool(handler(int(event))))
    if not _kernel32().SetConsoleCtrlHandler(ctypes.cast(routine, ctypes.c_void_p), True):
        raise _last_error("SetConsoleCtrlHandler")
    _installed_console_handler.append(routine)


SE_FILE_OBJECT = 1
DACL_SECURITY_INFORMATION = 0x4
PROTECTED_DACL_SECURITY_INFORMATION = 0x80000000
SDDL_REVISION_1 = 1


def _win_set_directory_dacl(path: str, sddl: str) -> None:
    descriptor = ctypes.c_void_p()
    advapi32 = _advapi32()
    if not advapi32.ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, ctypes.byref(descriptor), None):
        raise _last_error("ConvertStringSecurityDescriptorToSecurityDescriptorW")
    try:
        if sys.platform != "win32":
            raise OSError("wintypes needs Windows")
        from ctypes import wintypes

        present, defaulted, dacl = wintypes.BOOL(), wintypes.BOOL(), ctypes.c_void_p()
        if not advapi32.GetSecurityDescriptorDacl(descriptor, ctypes.byref(present), ctypes.byref(dacl), ctypes.byref(defaulted)):
            raise _last_error("GetSecurityDescriptorDacl")
        # SetNamedSecurityInfoW (unlike SetFileSecurityW) also re-applies inheritance to what the folder already holds.
        code = advapi32.SetNamedSecurityInfoW(
            path, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION, None, None, dacl, None
        )
        if code:
            raise _error(code, "SetNamedSecurityInfoW", path)
    finally:
        _kernel32().LocalFree(descriptor)


def _win_get_directory_dacl(path: str) -> str:
    if sys.platform != "win32":
        raise OSError("security descriptors exist only on Windows")
    from ctypes import wintypes

    advapi32 = _advapi32()
    descriptor = ctypes.c_void_p()
    code = advapi32.GetNamedSecurityInfoW(
        path, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, None, None, None, None, ctypes.byref(descriptor)
    )
    if code:
        raise _error(code, "GetNamedSecurityInfoW", path)
    try:
        text = wintypes.LPWSTR()
        if not advapi32.ConvertSecurityDescriptorToStringSecurityDescriptorW(
            descriptor, SDDL_REVISION_1, DACL_SECURITY_INFORMATION, ctypes.byref(text), None
        ):
            raise _last_error("ConvertSecurityDescriptorToStringSecurityDescriptorW")
        try:
            return str(text.value)
        finally:
            _kernel32().LocalFree(ctypes.cast(text, ctypes.c_void_p))
    finally:
        _kernel32().LocalFree(descriptor)


# --- Service control manager (pywin32) ---------------------------------------------------------------------------

SERVICE_STATES = {1: "stopped", 2: "start pending", 3: "stop pending", 4: "running", 5: "continue pending",
                  6: "pause pending", 7: "paused"}


def create_service(name: str, display_name: str, description: str, command_line: str, preshutdown_ms: int) -> None:
    """Register an automatic-start service of its own process running `command_line` as LocalSystem, whose SID is
    added to its token (so ACLs naming `NT SERVICE\\<name>` apply), with `preshutdown_ms` to flush at shutdown."""
    import win32service

    manager = win32service.OpenSCManager(None, None, win32service.SC_MANAGER_ALL_ACCESS)
    try:
        service = win32service.CreateService(
            manager, name, display_name, win32service.SERVICE_ALL_ACCESS, win32service.SERVICE_WIN32_OWN_PROCESS,
            win32service.SERVICE_AUTO_START, win32service.SERVICE_ERROR_NORMAL, command_line, None, 0, None, None, None,
        )
        try:
            win32service.ChangeServiceConfig2(service, win32service.SERVICE_CONFIG_DESCRIPTION, description)
            win32service.ChangeServiceConfig2(service, win32service.SERVICE_CONFIG_PRESHUTDOWN_INFO, preshutdown_ms)
        finally:
            win32service.CloseServiceHandle(service)
    finally:
        win32service.CloseServiceHandle(manager)


def configure_service_recovery(name: str, restart_delays_ms: tuple[int, int, int], reset_seconds: int) -> None:
    """Restart the service after each of its first three failures (crash, or stop with a non-zero exit code), and
    give it the unrestricted service SID type. sc.exe's syntax is stable and documented; pywin32's dict form is not."""
    import subprocess

    actions = "/".join(f"restart/{delay}" for delay in restart_delays_ms)
    for args in (
        ["failure", name, "reset=", str(reset_seconds), "actions=", actions],
        ["failureflag", name, "1"],
        ["sidtype", name, "unrestricted"],
    ):
        result = subprocess.run(["sc.exe", *args], capture_output=True, text=True)
        if result.returncode != 0:
            raise OSError(f"sc.exe {' '.join(args)} failed: {(result.stdout or result.stderr).strip()}")


def delete_service(name: str) -> None:
    import win32serviceutil

    win32serviceutil.RemoveService(name)


def start_service(name: str) -> None:
    import win32serviceutil

    win32serviceutil.StartService(name)


def stop_service(name: str) -> None:
    """Send the stop control; the service then flushes while it reports STOP_PENDING."""
    import win32serviceutil

    win32serviceutil.StopService(name)


def service_state(name: str) -> str | None:
    """The service's state ("running", "stopped", ...), or None when no such service is installed."""
    import win32serviceutil

    try:
        status = win32serviceutil.QueryServiceStatus(name)
    except Exception as error:  # pywintypes.error
        if getattr(error, "winerror", None) == 1060:  # ERROR_SERVICE_DOES_NOT_EXIST
            return None
        raise
    return SERVICE_STATES.get(int(status[1]), f"state {status[1]}")


def service_error_message(error: BaseException) -> str | None:
    """One sentence for a pywin32 service error (None when `error` is not one)."""
    code = getattr(error, "winerror", None)
    known = {
        5: "access denied: run this from an elevated (Run as administrator) prompt",
        1056: "the service is already running",
        1060: "the service is not installed",
        1062: "the service is not running",
        1072: "the service is marked for deletion: close the Services console and try again",
        1073: "a service of that name is already installed",
    }
    if code is None:
        return None
    return known.get(int(code), f"{getattr(error, 'strerror', error)} (winerror {code})")
