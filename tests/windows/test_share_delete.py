"""Holding a log open never blocks the writer's rotation (share-delete opens), and identity comes from the handle."""

import os
import sys
from pathlib import Path

import pytest

from shipper import platform

pytestmark = pytest.mark.windows


def write(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8", newline="") as f:
        f.write(text)


def test_writer_renames_the_file_we_hold_open(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    write(log, "one\r\n")
    with platform.open_for_reading(str(log)) as held:
        assert held.read() == b"one\r\n"
        log.rename(tmp_path / "app.log.1")  # the writer's rotation succeeds
        write(tmp_path / "app.log.1", "two\r\n")  # and lines written before the writer reopened still reach us
        assert held.read() == b"two\r\n"
        write(log, "new\r\n")  # the writer starts the new file under the old name
    assert (tmp_path / "app.log").read_bytes() == b"new\r\n"


def test_plain_open_blocks_the_rename_with_winerror_32(tmp_path: Path) -> None:
    # Why the platform seam exists: Python's open() omits FILE_SHARE_DELETE.
    log = tmp_path / "app.log"
    write(log, "one\r\n")
    with open(log, "rb"), pytest.raises(PermissionError) as raised:
        log.rename(tmp_path / "app.log.1")
    assert getattr(raised.value, "winerror", None) == 32
    assert log.exists()


def test_writer_deletes_the_file_we_hold_open(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    write(log, "old\r\n")
    with platform.open_for_reading(str(log)) as held:
        assert not platform.is_delete_pending(held.fileno())
        log.unlink()  # succeeds while we hold the file
        assert held.read() == b"old\r\n"


def test_plain_open_blocks_the_delete_with_winerror_32(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    write(log, "old\r\n")
    with open(log, "rb"), pytest.raises(PermissionError) as raised:
        log.unlink()
    assert getattr(raised.value, "winerror", None) == 32


@pytest.mark.real_windows
def test_writer_recreates_a_deleted_file_we_hold_and_we_see_the_delete(tmp_path: Path) -> None:
    # Wine keeps the deleted name and lets the writer reopen the same doomed file (deleted when we close);
    # Windows 10 1903+ on NTFS frees the name at once and reports the deletion on our handle.
    log = tmp_path / "app.log"
    write(log, "old\r\n")
    with platform.open_for_reading(str(log)) as held:
        log.unlink()
        assert platform.is_delete_pending(held.fileno())
        write(log, "fresh\r\n")
        assert held.read() == b"old\r\n"
    assert log.read_bytes() == b"fresh\r\n"


def test_identity_is_the_files_not_the_paths(tmp_path: Path) -> None:
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    write(first, "a\r\n")
    write(second, "b\r\n")
    with platform.open_for_reading(str(first)) as a, platform.open_for_reading(str(second)) as b:
        identity = platform.file_identity(a.fileno())
        assert identity.startswith("vol:") and "/fid:" in identity
        assert identity != platform.file_identity(b.fileno())
    first.rename(tmp_path / "a.log.1")
    with platform.open_for_reading(str(tmp_path / "a.log.1")) as again:
        assert platform.file_identity(again.fileno()) == identity
    first.write_bytes(b"a\r\n")  # same content, new file: a new identity
    with platform.open_for_reading(str(first)) as recreated:
        assert platform.file_identity(recreated.fileno()) != identity


@pytest.mark.real_windows
def test_identity_of_a_held_handle_survives_rename(tmp_path: Path) -> None:
    # Wine loses the volume serial of a handle whose file was renamed (it answers 0); Windows keeps it.
    log = tmp_path / "a.log"
    write(log, "a\r\n")
    with platform.open_for_reading(str(log)) as held:
        identity = platform.file_identity(held.fileno())
        log.rename(tmp_path / "a.log.1")
        assert platform.file_identity(held.fileno()) == identity


def test_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as raised:
        platform.open_for_reading(str(tmp_path / "absent.log"))
    assert getattr(raised.value, "winerror", None) == 2


def test_forward_slashes_and_long_paths_open(tmp_path: Path) -> None:
    deep = Path(str(tmp_path) + "\\" + "\\".join(["d" * 60] * 5))
    os.makedirs("\\\\?\\" + str(deep))
    target = "\\\\?\\" + str(deep / "app.log")
    with open(target, "w", encoding="utf-8", newline="") as f:
        f.write("deep\r\n")
    long_path = str(deep / "app.log")
    assert len(long_path) > 300
    with platform.open_for_reading(long_path) as held:
        assert held.read() == b"deep\r\n"
    with platform.open_for_reading(long_path.replace("\\", "/")) as held:
        assert held.read() == b"deep\r\n"
    short = tmp_path / "short.log"
    write(short, "s\r\n")
    with platform.open_for_reading(str(short).replace("\\", "/")) as held:
        assert held.read() == b"s\r\n"


def test_reads_are_binary_and_unbuffered(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    write(log, "x\r\n")
    with platform.open_for_reading(str(log)) as held:
        assert held.read(1) == b"x"
        write(log, "y\r\n")
        assert held.read() == b"\r\ny\r\n"
        held.seek(0)
        assert held.read() == b"x\r\ny\r\n"
        assert os.fstat(held.fileno()).st_size == 6
    assert sys.platform == "win32"
