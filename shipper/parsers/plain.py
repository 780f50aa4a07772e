"""plain: the line is the body, timed when it was read."""

from shipper.parsers.base import Event, Parser
from shipper.parsers.declaration import Format


class PlainParser(Parser):
    """Every line is its own body; no timestamp, no level."""

    name = "plain"

    def parse(self, text: str) -> Event:
        return {"timestamp": self.clock.observed, "severity_text": None, "severity_number": 0, "body": text, "attributes": {}}


# auto's fallback when no candidate accepts a line, never a candidate
FORMAT: Format = Format(PlainParser)
