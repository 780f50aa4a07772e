"""cri: container runtime (containerd, CRI-O) log lines, `2019-05-07T18:57:50.904275087+00:00 stdout P text`.
`P` marks a partial line continued by the next record of the stream, `F` the last (or only) piece."""

import re
from typing import Any

from shipper.parsers.base import ORIGINAL, Event, Parser, timestamp_unparsed
from shipper.parsers.bounded import Bounded
from shipper.parsers.declaration import Format, Shape

_LINE = Bounded(
    r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)) (stdout|stderr) ([PF])(?:[^ \n]*+)(?: (.*))?$", re.S
)


class CriParser(Parser):
    """CRI log lines; consecutive P pieces are joined with the F piece that ends them."""

    name = "cri"
    has_partials = True

    def parse(self, text: str) -> Event | None:
        match = _LINE.match(text)
        if match is None:
            return None
        stamp = self.clock.iso_fast(match[1])
        if stamp is None:
            parsed = self.clock.iso(match[1])
            stamp = "" if parsed is None else parsed[0]  # "": an impossible date, observed time, flagged
        attributes: dict[str, Any] = {"log.iostream": match[2], ORIGINAL: text}
        event = {
            "timestamp": stamp,
            "severity_text": None,
            "severity_number": 0,
            "body": match[4] or "",
            "attributes": attributes,
            "_partial": match[3] == "P",
        }
        return event if stamp else timestamp_unparsed(event, self.clock)

    def reject_reason(self, text: str) -> str:
        return "the line is not a CRI log line (timestamp stdout|stderr P|F message)"


FORMAT: Format = Format(CriParser, probes={Shape.DASHED_DATE: 10}, timed=frozenset({Shape.DASHED_DATE}))
