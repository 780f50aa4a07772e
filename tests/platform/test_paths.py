"""Windows path handling, as string logic: both separators, long paths behind \\\\?\\."""

import pytest

from shipper.platform.paths import extended_path, to_windows_separators

LONG = "d" * 300


def test_short_paths_pass_unchanged_with_either_separator() -> None:
    assert extended_path("C:\\logs\\app.log") == "C:\\logs\\app.log"
    assert extended_path("C:/logs/app.log") == "C:/logs/app.log"  # CreateFileW accepts '/' outside \\?\


def test_long_drive_paths_get_the_prefix_and_backslashes() -> None:
    assert extended_path(f"C:/logs/{LONG}/app.log") == f"\\\\?\\C:\\logs\\{LONG}\\app.log"
    assert extended_path(f"C:\\logs/{LONG}\\app.log") == f"\\\\?\\C:\\logs\\{LONG}\\app.log"


def test_long_unc_paths_use_the_unc_form() -> None:
    assert extended_path(f"\\\\fileserver\\share\\{LONG}\\iis.log") == f"\\\\?\\UNC\\fileserver\\share\\{LONG}\\iis.log"
    assert extended_path(f"//fileserver/share/{LONG}/iis.log") == f"\\\\?\\UNC\\fileserver\\share\\{LONG}\\iis.log"


@pytest.mark.parametrize(
    ("path", "cwd", "expected"),
    [
        (f"logs/{LONG}", "C:\\work", f"\\\\?\\C:\\work\\logs\\{LONG}"),
        (f"\\logs\\{LONG}", "D:\\work", f"\\\\?\\D:\\logs\\{LONG}"),
        (f"C:\\logs\\..\\other\\.\\{LONG}", "", f"\\\\?\\C:\\other\\{LONG}"),
    ],
)
def test_long_relative_paths_are_resolved_first(path: str, cwd: str, expected: str) -> None:
    # \\?\ turns off Windows' own normalisation, so ours must have happened.
    assert extended_path(path, cwd) == expected


def test_paths_already_in_the_extended_or_device_namespace_are_kept() -> None:
    assert extended_path(f"\\\\?\\C:\\{LONG}") == f"\\\\?\\C:\\{LONG}"
    assert extended_path(f"\\\\.\\pipe\\{LONG}") == f"\\\\.\\pipe\\{LONG}"


def test_to_windows_separators() -> None:
    assert to_windows_separators("C:/a/b\\c") == "C:\\a\\b\\c"
