"""The Windows side's own logic, on Linux: the system calls are replaced at the module boundary (the `_win_*`
functions of the shipper.platform.windows and logferry.windows modules), everything around them runs for real."""

import pytest

from logferry.windows import acl
from shipper import platform
from shipper.platform import posix, windows
from shipper.platform.windows import console, files


@pytest.fixture
def handle_of_fd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "_win_handle_from_fd", lambda fd: 1000 + fd)


@pytest.mark.usefixtures("handle_of_fd")
def test_identity_uses_the_128_bit_file_id_in_decimal(monkeypatch: pytest.MonkeyPatch) -> None:
    refs_id = 2**100 + 7  # ReFS ids do not fit in 64 bits
    monkeypatch.setattr(files, "_win_query_file_id_info", lambda handle: (0xDEADBEEF, refs_id))
    monkeypatch.setattr(files, "_win_query_file_index", lambda handle: pytest.fail("no fallback needed"))
    assert files.file_identity(3) == f"vol:{0xDEADBEEF}/fid:{refs_id}"


@pytest.mark.usefixtures("handle_of_fd")
def test_identity_falls_back_to_the_file_index_when_file_id_info_is_unsupported(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []
    monkeypatch.setattr(files, "_win_query_file_id_info", asked.append)
    monkeypatch.setattr(files, "_win_query_file_index", lambda handle: (42, 2**40 + 1))
    assert files.file_identity(5) == f"vol:42/fid:{2**40 + 1}"
    assert asked == [1005]


@pytest.mark.usefixtures("handle_of_fd")
@pytest.mark.parametrize("unknown", [0, 2**64 - 1, 2**128 - 1])
def test_identity_is_empty_when_no_id_is_known(monkeypatch: pytest.MonkeyPatch, unknown: int) -> None:
    # FAT and some redirectors have no ids; "" tells the caller to use the content fingerprint instead.
    monkeypatch.setattr(files, "_win_query_file_id_info", lambda handle: (7, unknown))
    monkeypatch.setattr(files, "_win_query_file_index", lambda handle: (7, 0))
    assert files.file_identity(3) == ""


@pytest.mark.usefixtures("handle_of_fd")
def test_identity_tries_the_file_index_when_file_id_info_says_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "_win_query_file_id_info", lambda handle: (7, 0))
    monkeypatch.setattr(files, "_win_query_file_index", lambda handle: (7, 99))
    assert files.file_identity(3) == "vol:7/fid:99"


def test_volume_serial_zero_is_still_an_identity() -> None:
    assert files.identity_string(0, 5) == "vol:0/fid:5"


@pytest.mark.usefixtures("handle_of_fd")
@pytest.mark.parametrize(
    ("pending", "links", "expected"), [(False, 1, False), (True, 1, True), (False, 0, True), (True, 0, True)]
)
def test_delete_pending(monkeypatch: pytest.MonkeyPatch, pending: bool, links: int, expected: bool) -> None:
    monkeypatch.setattr(files, "_win_query_standard_info", lambda handle: (pending, links))
    assert files.is_delete_pending(4) is expected


def test_opener_passes_the_extended_path_and_closes_the_handle_when_wrapping_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    closed: list[int] = []

    def create(path: str) -> int:
        opened.append(path)
        return 77

    monkeypatch.setattr(files, "_win_create_file_shared", create)
    monkeypatch.setattr(files, "_win_close_handle", closed.append)

    def fail(handle: int) -> int:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(files, "_win_fd_from_handle", fail)
    long_path = "C:/logs/" + "d" * 300 + "/app.log"
    with pytest.raises(OSError, match="Too many"):
        files._share_delete_opener(long_path, 0)
    assert opened == ["\\\\?\\C:\\logs\\" + "d" * 300 + "\\app.log"]
    assert closed == [77]


def test_open_for_reading_wraps_the_shared_handle(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    import os

    read_end, write_end = os.pipe()
    os.write(write_end, b"line\r\n")
    os.close(write_end)
    monkeypatch.setattr(files, "_win_create_file_shared", lambda path: 5)
    monkeypatch.setattr(files, "_win_fd_from_handle", lambda handle: read_end)
    with files.open_for_reading("C:\\logs\\app.log") as f:
        assert f.name == "C:\\logs\\app.log"
        assert f.read() == b"line\r\n"


def test_system_calls_refuse_to_run_off_windows() -> None:
    with pytest.raises(OSError):
        files._win_create_file_shared("C:\\x")
    with pytest.raises(OSError):
        files._win_handle_from_fd(0)
    with pytest.raises(OSError):
        console._win_set_console_ctrl_handler(lambda event: True)
    with pytest.raises(OSError):
        acl._win_get_directory_dacl("C:\\ProgramData\\logferry")
    with pytest.raises(OSError):
        acl._win_set_directory_dacl("C:\\ProgramData\\logferry", acl.private_directory_sddl())


@pytest.mark.parametrize("name", platform.__all__)
def test_the_windows_package_offers_the_whole_seam_like_posix(name: str) -> None:
    # shipper.platform picks one side by sys.platform; on Linux nothing else would notice a function missing here
    assert callable(getattr(windows, name)), name
    assert callable(getattr(posix, name)), name


def test_service_sid_matches_the_sid_windows_gives_trusted_installer() -> None:
    assert acl.service_sid("TrustedInstaller") == "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"
    assert acl.service_sid("trustedinstaller") == acl.service_sid("TrustedInstaller")


def test_private_directory_dacl_is_protected_and_names_only_system_admins_and_the_service() -> None:
    sid = acl.service_sid("logferry")
    assert acl.private_directory_sddl(sid) == f"D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;{sid})"
