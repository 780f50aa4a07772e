"""Log files and state files on Windows: share-delete opens, identity and delete-pending from the handle, the
rename retried while a reader holds the target, and the state-directory lock.

Files are opened with CreateFileW and FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, then wrapped with
msvcrt.open_osfhandle, so a writer can rename or delete a log while we read it (Python's open() omits
FILE_SHARE_DELETE and makes the writer's rotation fail with winerror 32). Identity and delete-pending come from the
open handle (GetFileInformationByHandle[Ex]).

The system calls are the `_win_*` functions at the end; tests on Linux replace them.
"""

import ctypes
import os
import sys
from typing import Any, BinaryIO

from logferry.windows import api
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

UNKNOWN_FILE_IDS = (0, 2**64 - 1, 2**128 - 1)
"""File ids that mean "no id" (FAT, some network redirectors, FILE_INVALID_FILE_ID)."""


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


def lock_exclusive(fd: int) -> None:
    """Lock the file's first byte for this process (msvcrt.locking); OSError when another process holds it."""
    if sys.platform != "win32":
        raise OSError("lock_exclusive of shipper.platform.windows called off Windows")
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


# --- System calls ------------------------------------------------------------------------------------------------
# Everything below talks to Windows. Each function is small so tests on Linux can replace it.


def _declare(k32: Any) -> None:
    from ctypes import wintypes

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


def _kernel32() -> Any:
    return api.library("kernel32", _declare)


def _win_create_file_shared(path: str) -> int:
    handle = _kernel32().CreateFileW(path, GENERIC_READ, FILE_SHARE_ALL, None, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, None)
    if handle is None or handle == INVALID_HANDLE_VALUE:
        raise api.last_error("CreateFileW", path)
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
        raise api.error(code, "GetFileInformationByHandleEx(FileIdInfo)")
    return int(info.VolumeSerialNumber), int.from_bytes(bytes(info.FileId), "little")


def _win_query_file_index(handle: int) -> tuple[int, int]:
    """(32-bit volume serial, 64-bit file index)."""
    info = _ByHandleFileInformation()
    if not _kernel32().GetFileInformationByHandle(handle, ctypes.byref(info)):
        raise api.last_error("GetFileInformationByHandle")
    return int(info.dwVolumeSerialNumber), (int(info.nFileIndexHigh) << 32) | int(info.nFileIndexLow)


def _win_query_standard_info(handle: int) -> tuple[bool, int]:
    """(DeletePending, NumberOfLinks)."""
    info = _FileStandardInfo()
    if not _kernel32().GetFileInformationByHandleEx(
        handle, FILE_STANDARD_INFO_CLASS, ctypes.byref(info), ctypes.sizeof(info)
    ):
        raise api.last_error("GetFileInformationByHandleEx(FileStandardInfo)")
    return bool(info.DeletePending), int(info.NumberOfLinks)
