"""Which codec a file's lines are decoded with: the input's explicit `encoding`, else the one its checkpoint
recorded, else the one detected from its head (`encoding = "auto"`, the default).

Detection looks at the first DETECT_BYTES of the file:
- a byte order mark decides: EF BB BF is UTF-8, FF FE is UTF-16 LE, FE FF is UTF-16 BE; the BOM is skipped;
- without one, a head whose odd bytes are NUL at least half the time while its even bytes almost never are
  (at most one in ten) is UTF-16 LE, and the mirror image is UTF-16 BE: text in UTF-16 has a NUL in the high
  byte of every ASCII code unit, and UTF-8 text has none;
- otherwise UTF-8, whose invalid sequences the pipeline replaces and flags as for an explicit utf-8 (Latin-1 or
  cp1252 bytes included: those need an explicit setting).
A head too short to tell is not decided yet (`detect` returns None) and the file waits for more bytes: fewer
than MIN_DETECT_BYTES, a possible BOM still being written, or no complete line in the codec the NULs suggest
while the head is under LINELESS_BYTES (the length at which the file is identified without a complete line).

The decision is recorded with the file's checkpoint, so a restart mid-file decodes the same way without reading
the head again; a rotated or replaced file is a new identity and is detected afresh. Framing is the framer's of
the decided codec, exactly as for an explicit one (UTF-16 lines split on the 2-byte-aligned UTF-16 newline).
"""

import enum
from dataclasses import dataclass

from shipper.harvest.framing import BOMS, Framer, resolve_encoding
from shipper.identity import FINGERPRINT_BYTES

AUTO = "auto"
DETECT_BYTES = 4096
"""The bounded head detection reads: enough lines to count NULs on, never the whole file."""
MIN_DETECT_BYTES = 2
"""Never decided on fewer bytes: one byte cannot tell a UTF-8 line from half a UTF-16 code unit."""
LINELESS_BYTES = FINGERPRINT_BYTES
"""A head this long is decided even without a complete line (a first line over 1 KiB)."""
WIDE = ("utf-16-le", "utf-16-be")


class EncodingSource(enum.Enum):
    """Where a stream's codec came from."""

    CONFIGURED = "configured"
    RECORDED = "recorded"
    """The checkpoint it resumes from recorded it."""
    DETECTED = "detected"
    AS_READ = "as read"
    """A checkpoint of an older version inside a UTF-16 code unit: the file was read byte-wise, as UTF-8."""


@dataclass(frozen=True, slots=True)
class Resolved:
    codec: str
    """utf-8, utf-16-le, utf-16-be, latin-1 or cp1252: what the framer and the pipeline are given."""
    bom: int
    """Length of the byte order mark at offset 0 (skipped, never part of a line)."""
    source: EncodingSource


def detect(head: bytes) -> tuple[str, int] | None:
    """The codec of a file starting with `head` and its BOM length; None while the head is too short to tell."""
    for codec, bom in BOMS.items():
        if head.startswith(bom):
            return codec, len(bom)
    if any(bom.startswith(head) for bom in BOMS.values()):
        return None  # empty, or a BOM being written
    sample = head[:DETECT_BYTES]
    if len(sample) < MIN_DETECT_BYTES:
        return None
    codec = _by_nul_bytes(sample)
    if len(sample) < LINELESS_BYTES and not _holds_line(sample, codec):
        return None
    return codec, 0


def _by_nul_bytes(sample: bytes) -> str:
    units = len(sample) // 2
    if not units:
        return "utf-8"
    even = sample[0 : 2 * units : 2].count(0)
    odd = sample[1 : 2 * units : 2].count(0)
    if 2 * odd >= units and 10 * even <= units:
        return "utf-16-le"
    if 2 * even >= units and 10 * odd <= units:
        return "utf-16-be"
    return "utf-8"


def _holds_line(sample: bytes, codec: str) -> bool:
    if codec in WIDE:
        return Framer(codec, DETECT_BYTES).find_newline(sample) >= 0
    # A CR ends a line only with something after it (a last CR may be the start of a CRLF), as identity.line_end_of.
    return b"\n" in sample or 0 <= sample.find(b"\r") < len(sample) - 1


def resolve(configured: str, head: bytes, recorded: str = "", offset: int = 0) -> Resolved | None:
    """The codec for a stream of a file starting with `head` that starts reading at `offset`; None: not decided yet.

    `recorded` is the codec its checkpoint holds ("" for none, or a checkpoint of a version that recorded none).
    """
    if configured.lower() != AUTO:
        return Resolved(*resolve_encoding(configured, head), EncodingSource.CONFIGURED)
    if recorded:
        return Resolved(*resolve_encoding(recorded, head), EncodingSource.RECORDED)
    found = detect(head)
    if found is None:
        return None
    codec, bom = found
    if codec in WIDE and offset > bom and (offset - bom) % 2:
        # Only a byte-wise reading ends a line there: keep decoding the rest of this file the way it was read.
        return Resolved("utf-8", 0, EncodingSource.AS_READ)
    return Resolved(codec, bom, EncodingSource.DETECTED)
