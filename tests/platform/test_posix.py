"""The Linux side of the seam, on real files."""

import os
from pathlib import Path

from shipper.platform import posix


def test_identity_is_device_and_inode_and_survives_rename(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"one\n")
    other = tmp_path / "other.log"
    other.write_bytes(b"one\n")
    with posix.open_for_reading(str(log)) as held, posix.open_for_reading(str(other)) as second:
        identity = posix.file_identity(held.fileno())
        st = os.stat(log)
        assert identity == f"dev:{st.st_dev}/ino:{st.st_ino}"
        assert posix.file_identity(second.fileno()) != identity
        log.rename(tmp_path / "app.log.1")
        assert posix.file_identity(held.fileno()) == identity


def test_rename_and_unlink_of_a_held_file_succeed_and_reading_goes_on(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"one\n")
    with posix.open_for_reading(str(log)) as held:
        log.rename(tmp_path / "app.log.1")
        (tmp_path / "app.log.1").unlink()
        assert not posix.is_delete_pending(held.fileno())  # POSIX keeps no name for unlinked files
        assert held.read() == b"one\n"
