"""Gzip-compressed rotated files that match a glob: read once, to their end, as decompressed text.

Offsets are offsets in the decompressed stream. A file still being compressed (logrotate's compress step)
reads as "no complete data yet" until its end-of-stream marker is there.
"""

import gzip
import os
import zlib
from typing import BinaryIO, cast

from shipper import platform
from shipper.harvest.harvester import Harvester


def is_gzip_path(path: str) -> bool:
    return path.endswith(".gz")


class _Decompressed:
    """A seekable read-only view of the decompressed content that reports an unfinished stream as no data."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.gz = gzip.GzipFile(fileobj=raw, mode="rb")

    def fileno(self) -> int:
        return self.raw.fileno()

    def seek(self, offset: int) -> int:
        try:
            return self.gz.seek(offset)
        except (EOFError, zlib.error, gzip.BadGzipFile):
            return offset

    def read(self, size: int = -1) -> bytes:
        try:
            return self.gz.read(size)
        except (EOFError, zlib.error, gzip.BadGzipFile):
            return b""  # incomplete or damaged: nothing complete to offer

    def close(self) -> None:
        self.gz.close()
        self.raw.close()


class GzipHarvester(Harvester):
    """A harvester over a .gz file's decompressed content; its size is the decompressed length."""

    @classmethod
    def open(cls, path: str, read_chunk_bytes: int) -> "Harvester":
        raw = platform.open_for_reading(path)
        return cls(path, cast(BinaryIO, _Decompressed(raw)), read_chunk_bytes)

    def first_line_changed(self) -> bool:
        return False  # a compressed file is never rewritten in place (logrotate writes it once, then renames it)

    def rewritten_at_same_size(self) -> bool:
        return False

    def stat_size(self) -> int:
        st = os.fstat(self.fd)
        self.stat_seen = (st.st_size, st.st_mtime_ns)
        compressed = st.st_size
        if compressed != getattr(self, "_compressed", -1):
            self._compressed = compressed
            self._length = self._decompressed_length()
        self.size = self._length
        return self._length

    def _decompressed_length(self) -> int:
        # Reading through is the only exact way (the trailer's ISIZE is modulo 4 GiB); done when the file changes.
        self.handle.seek(self.position)
        length = self.position
        while True:
            data = self.handle.read(1 << 20)
            if not data:
                return length
            length += len(data)
