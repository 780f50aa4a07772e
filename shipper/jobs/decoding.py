"""A child's output bytes to text lines, bounded, in the encoding the child wrote.

How a stream's encoding is told, once, from its first bytes (64, or a first line of 4 bytes or more): a UTF-16
BOM, or NULs in the odd positions of ASCII text (what `cmd /u` and .NET's Console with Unicode output write), make
it UTF-16 LE; else lines are split at LF and each is read as UTF-8 when it is valid UTF-8 (Go, .NET Core, most
Linux programs), else in the console code page (Windows: the console's output code page, the OEM one unless `chcp`
changed it, which is what cmd.exe and most console programs write to a pipe; without a console the ANSI code page,
which they then use; elsewhere latin-1, which reads any byte).

A line longer than `max_bytes` is cut there and flagged truncated; its rest is dropped up to the line's end, so
memory stays bounded whatever the child writes.
"""

import codecs
import sys
from typing import NamedTuple

DETECT_BYTES = 64


class Line(NamedTuple):
    text: str
    truncated: bool


def console_code_page() -> str:
    """The code page a console program writes to a pipe (Windows), else latin-1."""
    if sys.platform != "win32":
        return "latin-1"
    import ctypes

    kernel32 = ctypes.windll.kernel32
    # The child shares our console and writes in its output code page (the OEM one unless chcp changed it); 0 means
    # there is no console (Wine; a detached process), where console programs convert with code page 0, CP_ACP.
    page = int(kernel32.GetConsoleOutputCP()) or int(kernel32.GetACP())
    name = f"cp{page}"
    try:
        codecs.lookup(name)
    except LookupError:
        return "latin-1"
    return name


def _has_bom(head: bytes) -> bool:
    return head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF8))


def looks_utf16_le(head: bytes) -> bool:
    """Whether `head` (the first bytes of a stream) is UTF-16 LE text: a BOM, or mostly NULs at odd offsets."""
    if head.startswith(codecs.BOM_UTF16_LE):
        return True
    if len(head) < 4:
        return False
    pairs = len(head) // 2
    odd_nuls = sum(1 for i in range(1, 2 * pairs, 2) if head[i] == 0)
    even_nuls = sum(1 for i in range(0, 2 * pairs, 2) if head[i] == 0)
    return odd_nuls * 4 >= pairs * 3 and even_nuls * 4 < pairs


class LineSplitter:
    """Bytes in, complete lines out (`push`); `finish` gives a last line without a terminator."""

    def __init__(self, max_bytes: int, fallback: str | None = None) -> None:
        self.max_bytes = max_bytes
        self.fallback = fallback or console_code_page()
        self._mode: str | None = None  # "bytes" or "utf-16-le", decided on the first bytes
        self._head = b""
        self._buffer = bytearray()
        self._skipping = False  # a truncated line's rest is being dropped
        self._decoder = codecs.getincrementaldecoder("utf-16-le")("replace")
        self._text = ""

    @property
    def mode(self) -> str | None:
        return self._mode

    def push(self, data: bytes) -> list[Line]:
        if self._mode is None:
            self._head += data
            head = self._head
            if len(head) < DETECT_BYTES and not (len(head) >= 4 and b"\n" in head) and not _has_bom(head):
                return []
            return self._decide()
        return self._push(data)

    def finish(self) -> list[Line]:
        out = self._decide() if self._mode is None else []
        if self._mode == "bytes":
            if self._buffer or self._skipping:
                out.append(self._bytes_line(bytes(self._buffer)))
        else:
            self._text += self._decoder.decode(b"", final=True)
            if self._text or self._skipping:
                out.append(self._text_line(self._text))
        self._buffer.clear()
        self._text = ""
        self._skipping = False
        return out

    def _decide(self) -> list[Line]:
        head, self._head = self._head, b""
        if looks_utf16_le(head):
            self._mode = "utf-16-le"
            if head.startswith(codecs.BOM_UTF16_LE):
                head = head[2:]
        else:
            self._mode = "bytes"
            if head.startswith(codecs.BOM_UTF8):
                head = head[3:]
        return self._push(head)

    def _push(self, data: bytes) -> list[Line]:
        return self._push_bytes(data) if self._mode == "bytes" else self._push_wide(data)

    def _push_bytes(self, data: bytes) -> list[Line]:
        out: list[Line] = []
        start = 0
        buffer = self._buffer
        limit = self.max_bytes
        while True:
            newline = data.find(b"\n", start)
            piece = data[start:] if newline < 0 else data[start:newline]
            if not self._skipping:
                room = limit - len(buffer)
                if len(piece) > room:
                    piece = piece[:room]
                    self._skipping = True
                buffer += piece
            if newline < 0:
                return out
            out.append(self._bytes_line(bytes(buffer)))
            buffer.clear()
            self._skipping = False
            start = newline + 1

    def _bytes_line(self, line: bytes) -> Line:
        if line.endswith(b"\r"):
            line = line[:-1]
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            text = line.decode(self.fallback, "replace")
        return Line(text, self._skipping)

    def _push_wide(self, data: bytes) -> list[Line]:
        out: list[Line] = []
        text = self._decoder.decode(data)
        limit = max(1, self.max_bytes // 2)  # characters: UTF-16 takes two bytes or more for each
        start = 0
        while True:
            newline = text.find("\n", start)
            piece = text[start:] if newline < 0 else text[start:newline]
            if not self._skipping:
                room = limit - len(self._text)
                if len(piece) > room:
                    piece = piece[:room]
                    self._skipping = True
                self._text += piece
            if newline < 0:
                return out
            out.append(self._text_line(self._text))
            self._text = ""
            self._skipping = False
            start = newline + 1

    def _text_line(self, text: str) -> Line:
        return Line(text[:-1] if text.endswith("\r") else text, self._skipping)
