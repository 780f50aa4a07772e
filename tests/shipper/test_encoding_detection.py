"""Encoding detection (`encoding = "auto"`, the default): what a file's head decides, and when it decides nothing yet."""

import codecs

import pytest

from logferry.errors import ConfigError
from shipper.config import InputSettings, parse_config
from shipper.harvest.encodings import DETECT_BYTES, LINELESS_BYTES, EncodingSource, Resolved, detect, resolve
from shipper.harvest.framing import Framer
from tests.parsers.support import make_settings, parse_bytes

TEXT = ["2026-12-01 12:00:14 [ERROR] payment failed", "Größe 12 € ✓", "ਊ U+0A0A holds a 0x0A byte in UTF-16", ""]
"""Lines as a Windows service writes them, one with a code unit whose bytes are both 0x0A."""


def crlf(codec: str) -> bytes:
    return "".join(line + "\r\n" for line in TEXT).encode(codec)


@pytest.mark.parametrize(("bom", "codec"), [
    (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
])
def test_a_bom_decides_and_is_skipped(bom: bytes, codec: str) -> None:
    assert detect(bom + crlf(codec)) == (codec, len(bom))
    assert detect(bom) == (codec, len(bom)), "a whole BOM decides before any line"
    assert detect(bom[:-1]) is None, "part of a BOM may be a BOM being written"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_a_bomless_utf16_head_is_told_by_its_nul_bytes(codec: str) -> None:
    assert detect(crlf(codec)) == (codec, 0)
    cyrillic_with_ascii_time = "2026-12-01 12:00:14 Ошибка оплаты\n".encode(codec)
    assert detect(cyrillic_with_ascii_time) == (codec, 0)


def test_utf8_and_bytes_that_are_not_utf8_read_as_utf8() -> None:
    assert detect(crlf("utf-8")) == ("utf-8", 0)
    latin1 = "café déjà vu\n".encode("latin-1")
    assert detect(latin1) == ("utf-8", 0)
    assert detect(b"\0" * 600 + b"\n") == ("utf-8", 0), "NULs on both sides are not UTF-16"


def test_latin1_bytes_in_auto_are_replaced_and_flagged_as_for_utf8() -> None:
    settings = make_settings("plain")
    assert settings.encoding == "auto"
    [event] = parse_bytes("café déjà vu\n".encode("latin-1"), settings)
    assert event["body"] == "caf\ufffd d\ufffdj\ufffd vu"
    assert event["flags"] == ["encoding_replaced"]
    [explicit] = parse_bytes("café déjà vu\n".encode("latin-1"), make_settings("plain", {"encoding": "latin-1"}))
    assert (explicit["body"], explicit.get("flags", [])) == ("café déjà vu", [])


@pytest.mark.parametrize("codec", ["utf-8", "utf-16-le", "utf-16-be"])
def test_a_head_shorter_than_the_decision_head_decides_once_it_holds_a_line(codec: str) -> None:
    data = crlf(codec)
    line_end = len(TEXT[0].encode(codec)) + len("\r\n".encode(codec))
    for size in range(line_end):
        assert detect(data[:size]) is None, f"decided on {size} bytes, before the first line is complete"
    for size in range(line_end, len(data) + 1):
        assert detect(data[:size]) == (codec, 0), f"{size} bytes"


def test_never_on_one_byte_and_an_empty_file_waits() -> None:
    assert detect(b"") is None
    assert detect(b"\n") is None, "one byte: a UTF-8 empty line or half of a UTF-16 LE newline"
    assert detect(b"\n\0") == ("utf-16-le", 0)
    assert detect(b"\0\n") == ("utf-16-be", 0)
    assert detect(b"x\n") == ("utf-8", 0)
    assert resolve("auto", b"") is None
    assert resolve("utf-8", b"") == Resolved("utf-8", 0, EncodingSource.CONFIGURED)


def test_a_long_first_line_decides_at_the_lineless_bound_and_only_the_bounded_head_counts() -> None:
    wide = ("x" * LINELESS_BYTES).encode("utf-16-le")
    assert detect(wide[: LINELESS_BYTES - 2]) is None
    assert detect(wide[:LINELESS_BYTES]) == ("utf-16-le", 0)
    assert detect(b"a" * DETECT_BYTES + b"\0z" * DETECT_BYTES) == ("utf-8", 0)


def test_what_resolves_a_stream_s_codec() -> None:
    le = codecs.BOM_UTF16_LE + crlf("utf-16-le")
    assert resolve("auto", le) == Resolved("utf-16-le", 2, EncodingSource.DETECTED)
    assert resolve("latin-1", le, recorded="utf-16-le") == Resolved("latin-1", 0, EncodingSource.CONFIGURED)
    assert resolve("UTF-16", le) == Resolved("utf-16-le", 2, EncodingSource.CONFIGURED)
    utf8 = codecs.BOM_UTF8 + crlf("utf-8")
    assert resolve("auto", utf8, recorded="latin-1") == Resolved("latin-1", 0, EncodingSource.RECORDED)
    assert resolve("auto", utf8, recorded="utf-8") == Resolved("utf-8", 3, EncodingSource.RECORDED)
    bomless = crlf("utf-16-le")
    assert resolve("auto", bomless, offset=0) == Resolved("utf-16-le", 0, EncodingSource.DETECTED)
    assert resolve("auto", bomless, offset=bomless.index(b"\n") + 2) == Resolved("utf-16-le", 0, EncodingSource.DETECTED)
    # An older checkpoint (no codec recorded) just after a 0x0A byte inside a UTF-16 newline: read byte-wise before.
    odd = bomless.index(b"\n") + 1
    assert resolve("auto", bomless, offset=odd) == Resolved("utf-8", 0, EncodingSource.AS_READ)
    assert resolve("auto", bomless, recorded="utf-16-le", offset=odd).source is EncodingSource.RECORDED


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_a_detected_utf16_file_is_framed_on_the_utf16_newline(codec: str) -> None:
    data = crlf(codec)
    found = detect(data)
    assert found is not None
    records, consumed = Framer(found[0], 1 << 16).frame(data, 0)
    assert consumed == len(data)
    assert [record[2].decode(found[0]) for record in records] == TEXT


def test_auto_is_the_default_and_a_bad_encoding_is_named() -> None:
    assert InputSettings(id="app", paths=["/x/*.log"]).encoding == "auto"
    base = {"shipper": {"state_dir": "state"}, "kafka": {"bootstrap_servers": "localhost:9092", "topic": "t"}}
    config = parse_config({**base, "inputs": [{"id": "app", "paths": ["/x/*.log"]}]})
    assert config.inputs[0].encoding == "auto"
    with pytest.raises(ConfigError, match=r"inputs\[0\]\.encoding"):
        parse_config({**base, "inputs": [{"id": "app", "paths": ["/x/*.log"], "encoding": "utf-32"}]})
