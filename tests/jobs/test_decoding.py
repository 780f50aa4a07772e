"""A child's output bytes to lines: UTF-8, UTF-16 LE told by its NULs or BOM, the console code page for the rest,
bounded lines (real bytes in, real lines out; no process needed)."""

from shipper.jobs.decoding import Line, LineSplitter, looks_utf16_le


def split(chunks: list[bytes], *, max_bytes: int = 1000, fallback: str = "cp850") -> list[Line]:
    splitter = LineSplitter(max_bytes, fallback)
    lines: list[Line] = []
    for chunk in chunks:
        lines += splitter.push(chunk)
    return lines + splitter.finish()


def test_utf8_lines_split_at_lf_with_crlf_and_a_last_line_without_terminator() -> None:
    data = "first\r\ncafé\nlast".encode()
    assert split([data]) == [Line("first", False), Line("café", False), Line("last", False)]
    assert split([data[i:i + 1] for i in range(len(data))]) == split([data])  # byte by byte: the same lines


def test_a_short_first_line_is_given_at_once_without_waiting_for_more_bytes() -> None:
    splitter = LineSplitter(1000, "cp850")
    assert splitter.push(b"working\n") == [Line("working", False)]


def test_bytes_that_are_not_utf8_are_read_in_the_console_code_page() -> None:
    oem = "café crème Ä".encode("cp850")  # what cmd.exe's echo writes to a pipe under code page 850
    assert split([oem + b"\r\n"]) == [Line("café crème Ä", False)]
    assert split([oem + b"\n"], fallback="cp437")[0].text == "café crème Ä"


def test_utf16_le_is_told_by_its_nuls_and_by_its_bom() -> None:
    text = "Zeile ünë\r\n日本語\r\n"
    wide = text.encode("utf-16-le")
    assert looks_utf16_le(wide) and not looks_utf16_le(b"plain ascii text here\n")
    expected = [Line("Zeile ünë", False), Line("日本語", False)]
    assert split([wide]) == expected
    assert split([b"\xff\xfe" + wide]) == expected
    assert split([wide[i:i + 3] for i in range(0, len(wide), 3)]) == expected  # split inside characters


def test_a_long_line_is_cut_at_the_bound_and_flagged_and_the_next_line_is_whole() -> None:
    data = b"x" * 5000 + b"\nnext\n"
    assert split([data[i:i + 700] for i in range(0, len(data), 700)], max_bytes=100) == [
        Line("x" * 100, True), Line("next", False),
    ]
    wide = ("y" * 5000 + "\r\nnext\r\n").encode("utf-16-le")
    assert split([wide], max_bytes=100) == [Line("y" * 50, True), Line("next", False)]
