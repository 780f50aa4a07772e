"""A file's identity: the OS identity of the open file plus a fingerprint of its first line.

- fingerprint: BLAKE2b-64 of the bytes up to and including the first LF, capped at FINGERPRINT_BYTES, so a
  10-byte file has one as soon as its first line is complete. An inode reused by a new file is a new key.
- offset marker: BLAKE2b-64 of the MARKER_BYTES just before a checkpoint offset, checked on resume: a mismatch
  means the content was replaced in place (copytruncate, truncation and regrowth, inode reuse with the same head).
- key: how checkpoints are looked up; never the path, so a renamed file keeps its checkpoint.
"""

from hashlib import blake2b
from typing import BinaryIO

FINGERPRINT_BYTES = 1024
MARKER_BYTES = 64


def fingerprint_of(head: bytes) -> str | None:
    """The fingerprint of a file starting with `head`; None while its first line is incomplete and short."""
    newline = head.find(b"\n", 0, FINGERPRINT_BYTES)
    if newline >= 0:
        first = head[: newline + 1]
    elif len(head) >= FINGERPRINT_BYTES:
        first = head[:FINGERPRINT_BYTES]
    else:
        return None
    return blake2b(first, digest_size=8).hexdigest()


def file_key(os_identity: str, fingerprint: str) -> str:
    """The checkpoint key: OS identity (when the platform knows one) and fingerprint."""
    return f"{os_identity}/fp:{fingerprint}" if os_identity else f"fp:{fingerprint}"


def fingerprint_of_key(key: str) -> str:
    """The fingerprint part of a checkpoint key."""
    return key.rsplit("fp:", 1)[-1]


def marker_of(before: bytes) -> str:
    """The offset marker for the bytes just before an offset (at most MARKER_BYTES of them)."""
    return blake2b(before[-MARKER_BYTES:], digest_size=8).hexdigest()


def read_marker(handle: BinaryIO, offset: int) -> str | None:
    """The marker of the bytes before `offset` in the open file; None when the file is shorter than `offset`."""
    start = max(0, offset - MARKER_BYTES)
    handle.seek(start)
    data = handle.read(offset - start)
    if data is None or len(data) < offset - start:
        return None
    return marker_of(data)


def read_head(handle: BinaryIO) -> bytes:
    """The first FINGERPRINT_BYTES of the open file (fewer when it is shorter)."""
    handle.seek(0)
    return handle.read(FINGERPRINT_BYTES) or b""
