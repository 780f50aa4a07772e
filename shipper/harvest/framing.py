"""Framing a file's bytes into RawRecords: complete lines only, CR before LF stripped, byte offsets.

A file detected as ending its lines with CR alone (shipper.identity.line_end_of) is framed on CR.

UTF-16 files are framed on 2-byte-aligned newlines (`\\n\\0` little endian, `\\0\\n` big endian), so a code unit
that merely contains 0x0A never splits a line. Lines longer than max_line_bytes are cut and flagged.
"""

from shipper.records import RawRecord, RecordFields

BOMS = {"utf-8": b"\xef\xbb\xbf", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}


def resolve_encoding(configured: str, head: bytes) -> tuple[str, int]:
    """The codec to decode with and the length of the BOM at offset 0 (skipped, never part of a line)."""
    name = configured.lower()
    if name == "utf-16":
        if head.startswith(BOMS["utf-16-be"]):
            return "utf-16-be", 2
        if head.startswith(BOMS["utf-16-le"]):
            return "utf-16-le", 2
        return "utf-16-le", 0
    bom = BOMS.get(name)
    if bom is not None and head.startswith(bom):
        return name, len(bom)
    return name, 0


class Framer:
    """Splits buffers that start at a line start into complete lines."""

    def __init__(self, encoding: str, max_line_bytes: int, line_end: bytes = b"\n") -> None:
        self.wide = encoding in ("utf-16-le", "utf-16-be")
        if encoding == "utf-16-be":
            self.newline, self.cr = b"\x00\n", b"\x00\r"
        elif self.wide:
            self.newline, self.cr = b"\n\x00", b"\r\x00"
        elif line_end == b"\r":
            self.newline, self.cr = b"\r", b""  # CR-only: nothing to strip before the terminator
        else:
            self.newline, self.cr = b"\n", b"\r"
        # A cut UTF-16 line must keep whole code units.
        self.max_line = max(2, max_line_bytes - max_line_bytes % 2) if self.wide else max_line_bytes

    def find_newline(self, buf: bytes, start: int = 0) -> int:
        """Index of the first newline at or after `start` (an aligned position), or -1."""
        index = buf.find(self.newline, start)
        if self.wide:
            while index >= 0 and (index - start) % 2:
                index = buf.find(self.newline, index + 1)
        return index

    def frame(self, buf: bytes, base: int) -> tuple[list[RecordFields], int]:
        """The complete lines in `buf`, which starts at file offset `base`; and how many bytes they span."""
        if self.wide:
            return self._frame_wide(buf, base)
        newline = self.newline
        last = buf.rfind(newline)
        if last < 0:
            return [], 0
        body = buf[:last]
        lines = body.split(newline)
        records: list[RecordFields] = []
        append = records.append
        offset = base
        if newline == b"\r":
            return self._frame_cr(lines, base, last)
        if b"\r" not in body and last < self.max_line:
            # The hot path: no CR to strip and no line can be too long; plain tuples (see RecordFields).
            for line in lines:
                end = offset + len(line) + 1
                append((offset, end, line, False))
                offset = end
            return records, last + 1
        max_line = self.max_line
        for raw in lines:
            end = offset + len(raw) + 1
            line = raw[:-1] if raw[-1:] == b"\r" else raw
            if len(line) > max_line:
                append(RawRecord(offset, end, line[:max_line], True))
            else:
                append(RawRecord(offset, end, line))
            offset = end
        return records, last + 1

    def _frame_cr(self, lines: list[bytes], base: int, last: int) -> tuple[list[RecordFields], int]:
        records: list[RecordFields] = []
        max_line = self.max_line
        offset = base
        for line in lines:
            end = offset + len(line) + 1
            if len(line) > max_line:
                records.append(RawRecord(offset, end, line[:max_line], True))
            else:
                records.append(RawRecord(offset, end, line))
            offset = end
        return records, last + 1

    def _frame_wide(self, buf: bytes, base: int) -> tuple[list[RecordFields], int]:
        records: list[RecordFields] = []
        start = 0
        while True:
            index = self.find_newline(buf, start)
            if index < 0:
                return records, start
            records.append(self.record(buf[start:index], base + start, base + index + 2))
            start = index + 2

    def record(self, line: bytes, offset: int, end: int) -> RawRecord:
        """The record for `line` (terminator removed, CR maybe still there) spanning offset..end."""
        if self.cr and line[-len(self.cr) :] == self.cr:
            line = line[: -len(self.cr)]
        if len(line) > self.max_line:
            return RawRecord(offset, end, line[: self.max_line], True)
        return RawRecord(offset, end, line)
