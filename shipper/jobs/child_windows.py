"""The job on Windows: the program in a Job Object (see shipper.jobs.child).

The job is made with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE, so the tree ends when `exec` does, however it ends. The
program is assigned to the job right after it is created (CreateProcess through subprocess cannot start it
suspended): a process it starts in that first instant would not be in the job. Exit codes of 0xC0000000 and above
are NTSTATUS codes (an access violation is 0xC0000005, Ctrl+C 0xC000013A) and are recorded as such.

The system calls are the `_win_*` functions, bound on first use (logferry.windows.api), so this module
imports everywhere.
"""

import ctypes
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import IO, Any

from logferry.windows import api
from shipper.jobs.child import CannotStart, ChildExit

JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x2000
JOB_OBJECT_BASIC_ACCOUNTING_INFORMATION = 1
JOB_OBJECT_EXTENDED_LIMIT_INFORMATION = 9
NTSTATUS_FLOOR = 0xC0000000
TERMINATED_EXIT_CODE = 1


def ntstatus_of(code: int) -> str | None:
    """`code` as an NTSTATUS text (0xC0000005) when it is one, else None."""
    unsigned = code & 0xFFFFFFFF
    return f"0x{unsigned:08X}" if unsigned >= NTSTATUS_FLOOR else None


def exit_code_for_exit(code: int) -> int:
    """A Windows exit code (a DWORD) as the int `sys.exit` passes through unchanged (ExitProcess takes a UINT)."""
    unsigned = code & 0xFFFFFFFF
    return unsigned - (1 << 32) if unsigned > 0x7FFFFFFF else unsigned


class WindowsChild:
    def __init__(self, process: "subprocess.Popen[bytes]", job: int) -> None:
        self._process = process
        self._job = job
        self.pid = process.pid
        assert process.stdout is not None and process.stderr is not None
        self.stdout: IO[bytes] = process.stdout
        self.stderr: IO[bytes] = process.stderr

    @classmethod
    def start(cls, argv: Sequence[str]) -> "WindowsChild":
        job = _win_create_job()
        try:
            process = subprocess.Popen(
                list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0,
            )
        except FileNotFoundError as error:
            _win_close(job)
            raise CannotStart(f"{argv[0]}: {error.strerror or error}", 127) from None
        except OSError as error:
            _win_close(job)
            raise CannotStart(f"{argv[0]}: {error.strerror or error}", 126) from None
        try:
            _win_assign(job, int(process._handle))  # type: ignore[attr-defined]
        except OSError:
            pass  # a nested job refused (older systems): the program runs, its tree is ended by pid at most
        return cls(process, job)

    def wait(self) -> ChildExit:
        code = self._process.wait()
        cpu_ms, peak = _win_accounting(self._job)
        return ChildExit(exit_code_for_exit(code), ntstatus=ntstatus_of(code), cpu_ms=cpu_ms, peak_memory_bytes=peak)

    def stop_tree(self) -> None:
        self.kill_tree()

    def kill_tree(self) -> None:
        try:
            _win_terminate(self._job)
        except OSError:
            self._process.kill()

    def alive_in_tree(self) -> bool:
        try:
            return _win_active_processes(self._job) > 0
        except OSError:
            return self._process.poll() is None

    def forward_stop_requests(self, finished: threading.Event, after: Callable[[], None]) -> None:
        # The child shares the console: Ctrl+C, Ctrl+Break and console close reach it from the console itself.
        # `exec` only must not end first: the handler returns "handled" and, for close/logoff/shutdown (after which
        # Windows ends the process), waits while the run's end is written.
        from shipper.platform import install_stop_handlers

        def request_stop() -> None:
            if finished.is_set():
                after()

        install_stop_handlers(request_stop, finished.wait)


# --- System calls ------------------------------------------------------------------------------------------------


class _BasicLimit(ctypes.Structure):
    _fields_ = [
        ("PerProcessUserTimeLimit", ctypes.c_int64), ("PerJobUserTimeLimit", ctypes.c_int64),
        ("LimitFlags", ctypes.c_uint32), ("MinimumWorkingSetSize", ctypes.c_size_t),
        ("MaximumWorkingSetSize", ctypes.c_size_t), ("ActiveProcessLimit", ctypes.c_uint32),
        ("Affinity", ctypes.c_size_t), ("PriorityClass", ctypes.c_uint32), ("SchedulingClass", ctypes.c_uint32),
    ]


class _IoCounters(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in (
        "ReadOperationCount", "WriteOperationCount", "OtherOperationCount", "ReadTransferCount", "WriteTransferCount",
        "OtherTransferCount",
    )]


class _ExtendedLimit(ctypes.Structure):
    _fields_ = [
        ("BasicLimitInformation", _BasicLimit), ("IoInfo", _IoCounters), ("ProcessMemoryLimit", ctypes.c_size_t),
        ("JobMemoryLimit", ctypes.c_size_t), ("PeakProcessMemoryUsed", ctypes.c_size_t),
        ("PeakJobMemoryUsed", ctypes.c_size_t),
    ]


class _Accounting(ctypes.Structure):
    _fields_ = [
        ("TotalUserTime", ctypes.c_int64), ("TotalKernelTime", ctypes.c_int64),
        ("ThisPeriodTotalUserTime", ctypes.c_int64), ("ThisPeriodTotalKernelTime", ctypes.c_int64),
        ("TotalPageFaultCount", ctypes.c_uint32), ("TotalProcesses", ctypes.c_uint32),
        ("ActiveProcesses", ctypes.c_uint32), ("TotalTerminatedProcesses", ctypes.c_uint32),
    ]


def _declare(k32: Any) -> None:
    from ctypes import wintypes

    k32.CreateJobObjectW.argtypes = [ctypes.c_void_p, wintypes.LPCWSTR]
    k32.CreateJobObjectW.restype = wintypes.HANDLE
    k32.SetInformationJobObject.argtypes = [wintypes.HANDLE, ctypes.c_int, ctypes.c_void_p, wintypes.DWORD]
    k32.SetInformationJobObject.restype = wintypes.BOOL
    k32.QueryInformationJobObject.argtypes = [
        wintypes.HANDLE, ctypes.c_int, ctypes.c_void_p, wintypes.DWORD, ctypes.POINTER(wintypes.DWORD),
    ]
    k32.QueryInformationJobObject.restype = wintypes.BOOL
    k32.AssignProcessToJobObject.argtypes = [wintypes.HANDLE, wintypes.HANDLE]
    k32.AssignProcessToJobObject.restype = wintypes.BOOL
    k32.TerminateJobObject.argtypes = [wintypes.HANDLE, wintypes.UINT]
    k32.TerminateJobObject.restype = wintypes.BOOL
    k32.CloseHandle.argtypes = [wintypes.HANDLE]
    k32.CloseHandle.restype = wintypes.BOOL


def _k32() -> Any:
    if sys.platform != "win32":
        raise OSError("Job Objects exist only on Windows")
    return api.library("kernel32", _declare)


def _win_create_job() -> int:
    k32 = _k32()
    job = k32.CreateJobObjectW(None, None)
    if not job:
        raise api.last_error("CreateJobObjectW")
    info = _ExtendedLimit()
    info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
    if not k32.SetInformationJobObject(job, JOB_OBJECT_EXTENDED_LIMIT_INFORMATION, ctypes.byref(info), ctypes.sizeof(info)):
        error = api.last_error("SetInformationJobObject")
        k32.CloseHandle(job)
        raise error
    return int(job)


def _win_assign(job: int, process: int) -> None:
    if not _k32().AssignProcessToJobObject(job, process):
        raise api.last_error("AssignProcessToJobObject")


def _win_terminate(job: int) -> None:
    if not _k32().TerminateJobObject(job, TERMINATED_EXIT_CODE):
        raise api.last_error("TerminateJobObject")


def _win_close(job: int) -> None:
    _k32().CloseHandle(job)


def _win_query(job: int, kind: int, info: ctypes.Structure) -> bool:
    return bool(_k32().QueryInformationJobObject(job, kind, ctypes.byref(info), ctypes.sizeof(info), None))


def _win_active_processes(job: int) -> int:
    info = _Accounting()
    if not _win_query(job, JOB_OBJECT_BASIC_ACCOUNTING_INFORMATION, info):
        raise api.last_error("QueryInformationJobObject")
    return int(info.ActiveProcesses)


def _win_accounting(job: int) -> tuple[float | None, int | None]:
    """(CPU ms of every process the job ran, peak committed memory of the job in bytes); None where unknown."""
    accounting, limits = _Accounting(), _ExtendedLimit()
    try:
        cpu = None
        if _win_query(job, JOB_OBJECT_BASIC_ACCOUNTING_INFORMATION, accounting):
            cpu = (accounting.TotalUserTime + accounting.TotalKernelTime) / 10_000.0  # 100 ns units
        peak = None
        if _win_query(job, JOB_OBJECT_EXTENDED_LIMIT_INFORMATION, limits):
            peak = int(limits.PeakJobMemoryUsed) or None
        return cpu, peak
    except OSError:
        return None, None
