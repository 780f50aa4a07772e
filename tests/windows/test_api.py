"""The Win32 libraries are loaded once and each module's signatures are declared once, whichever module asks first."""

from typing import Any

import pytest

from logferry.windows import api

pytestmark = pytest.mark.windows


def test_each_declaration_applies_once_to_the_one_library() -> None:
    applied: list[str] = []

    def declare_tick_count(k32: Any) -> None:
        applied.append("tick count")
        k32.GetTickCount64.argtypes = []

    def declare_process_id(k32: Any) -> None:
        applied.append("process id")
        k32.GetCurrentProcessId.argtypes = []

    first = api.library("kernel32", declare_tick_count)
    assert api.library("kernel32", declare_process_id) is first
    assert api.library("kernel32", declare_tick_count) is first
    assert applied == ["tick count", "process id"]
    assert first.GetTickCount64.argtypes == []


def test_a_winerror_becomes_the_matching_os_error() -> None:
    assert isinstance(api.error(2, "CreateFileW", "C:\\missing.log"), FileNotFoundError)
    denied = api.error(5, "SetNamedSecurityInfoW", "C:\\state")
    assert isinstance(denied, PermissionError)
    assert denied.winerror == 5 and denied.filename == "C:\\state"  # type: ignore[attr-defined,unused-ignore]
