"""A file's identity: the OS identity of the open file plus a fingerprint of its first line.

- fingerprint: BLAKE2b-64 of the bytes up to and including the first LF, capped at FINGERPRINT_BYTES, so a
  10-byte file has one as soon as its first line is complete. An inode reused by a new file is a new key.
  A file whose head holds a CR followed by something other than LF, and no LF at all, ends its lines with CR alone
  (old Mac, some devices): its first line ends at the first CR. LF and CRLF files keep the fingerprints they had.
- offset marker: BLAKE2b-64 of the MARKER_BYTES just before a checkpoint offset, checked on resume: a mismatch
  means the content was replaced in place (copytruncate, truncation and regrowth, inode reuse with the same head).
- key (`FileKey`): how checkpoints are looked up; never the path, so a renamed file keeps its checkpoint. Its text
  form is made and read here only.
"""

from dataclasses import dataclass
from hashlib import blake2b
from typing import BinaryIO

FINGERPRINT_BYTES = 1024
MARKER_BYTES = 64
LF = b"\n"
CR = b"\r"


@dataclass(frozen=True, slots=True)
class FileKey:
    """A file's checkpoint key: the OS identity ("" when the platform knows none) and the first-line fingerprint."""

    os_identity: str
    fingerprint: str

    def __str__(self) -> str:
        return f"{self.os_identity}/fp:{self.fingerprint}" if self.os_identity else f"fp:{self.fingerprint}"

    @classmethod
    def parse(cls, text: str) -> "FileKey":
        """The key whose text form is `text` (as version-1 checkpoint files hold it)."""
        if text.startswith("fp:"):
            return cls("", text[3:])
        os_identity, separator, fingerprint = text.rpartition("/fp:")
        if not separator or not fingerprint:
            raise ValueError(f"not a file key: {text!r}")
        return cls(os_identity, fingerprint)


def line_end_of(head: bytes) -> bytes:
    """The line terminator of a file starting with `head`: CR when it holds a CR not followed by LF and no LF."""
    window = head[:FINGERPRINT_BYTES]
    if LF in window:
        return LF
    cr = window.find(CR)
    if 0 <= cr < len(head) - 1:  # a CR with something after it (a lone CR at the end may be a CRLF being written)
        return CR
    return LF


def first_line_of(head: bytes) -> bytes | None:
    """The bytes the fingerprint is made of; None while the first line is incomplete and short."""
    end = line_end_of(head)
    newline = head.find(end, 0, FINGERPRINT_BYTES)
    if newline >= 0:
        return head[: newline + 1]
    if len(head) >= FINGERPRINT_BYTES:
        return head[:FINGERPRINT_BYTES]
    return None


def fingerprint_of(head: bytes) -> str | None:
    """The fingerprint of a file starting with `head`; None while its first line is incomplete and short."""
    first = first_line_of(head)
    return None if first is None else fingerprint_of_line(first)


def fingerprint_of_line(first: bytes) -> str:
    return blake2b(first, digest_size=8).hexdigest()


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
