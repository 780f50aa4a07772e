"""The private state directory: its DACL replaced by a protected one (SYSTEM, Administrators, the service SID).

The system calls are the `_win_*` functions at the end; the SID and SDDL logic around them runs on any platform.
"""

import ctypes
import hashlib
import os
import struct
import sys
from typing import Any

from logferry.windows import api

SE_FILE_OBJECT = 1
DACL_SECURITY_INFORMATION = 0x4
PROTECTED_DACL_SECURITY_INFORMATION = 0x80000000
SDDL_REVISION_1 = 1


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


def _declare_advapi32(advapi32: Any) -> None:
    from ctypes import wintypes

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


def _declare_kernel32(k32: Any) -> None:
    k32.LocalFree.argtypes = [ctypes.c_void_p]
    k32.LocalFree.restype = ctypes.c_void_p


def _advapi32() -> Any:
    return api.library("advapi32", _declare_advapi32)


def _local_free(pointer: Any) -> None:
    """Frees what the security-descriptor functions allocated."""
    api.library("kernel32", _declare_kernel32).LocalFree(pointer)


def _win_set_directory_dacl(path: str, sddl: str) -> None:
    descriptor = ctypes.c_void_p()
    advapi32 = _advapi32()
    if not advapi32.ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, ctypes.byref(descriptor), None):
        raise api.last_error("ConvertStringSecurityDescriptorToSecurityDescriptorW")
    try:
        if sys.platform != "win32":
            raise OSError("wintypes needs Windows")
        from ctypes import wintypes

        present, defaulted, dacl = wintypes.BOOL(), wintypes.BOOL(), ctypes.c_void_p()
        if not advapi32.GetSecurityDescriptorDacl(descriptor, ctypes.byref(present), ctypes.byref(dacl), ctypes.byref(defaulted)):
            raise api.last_error("GetSecurityDescriptorDacl")
        # SetNamedSecurityInfoW (unlike SetFileSecurityW) also re-applies inheritance to what the folder already holds.
        code = advapi32.SetNamedSecurityInfoW(
            path, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION, None, None, dacl, None
        )
        if code:
            raise api.error(code, "SetNamedSecurityInfoW", path)
    finally:
        _local_free(descriptor)


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
        raise api.error(code, "GetNamedSecurityInfoW", path)
    try:
        text = wintypes.LPWSTR()
        if not advapi32.ConvertSecurityDescriptorToStringSecurityDescriptorW(
            descriptor, SDDL_REVISION_1, DACL_SECURITY_INFORMATION, ctypes.byref(text), None
        ):
            raise api.last_error("ConvertSecurityDescriptorToStringSecurityDescriptorW")
        try:
            return str(text.value)
        finally:
            _local_free(ctypes.cast(text, ctypes.c_void_p))
    finally:
        _local_free(descriptor)
