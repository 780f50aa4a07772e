"""text: lines with a timestamp somewhere in their head and no structured format: the layout is learned per stream.

The scanner (shipper.parsers.layout.scan) finds a date-time by its components in a line's first 64 characters; the
stream keeps the layouts it saw (position and shape, shipper.parsers.layout.learned) and reads later lines through
them without scanning. The level is looked for in the first tokens after the timestamp (shipper.parsers.layout.levels);
the message after them is the body, and its metrics pairs become numeric attributes (shipper.parsers.numbers).

In auto the format is the fallback before plain: `parse` reads only lines that fit a learned layout, so a line in a
new shape goes back to the probes of the structured formats first, and `learn` (the scanner) is auto's last resort.
Declared (`format = "text"`), `parse` scans lines that fit no learned layout itself. Lines that do not start with a
timestamp continue the event before (stack traces, wrapped SQL), bounded by multiline.max_lines / max_bytes.
"""

from typing import Any, Final

from shipper.parsers.base import ORIGINAL, TIMEZONE, Event, ParseEnv, Parser, level_number, parsed
from shipper.parsers.declaration import Format
from shipper.parsers.layout.learned import KIND_KLOG, KIND_REDIS, Layout, stamp_head
from shipper.parsers.layout.levels import LETTERS, REDIS_SYMBOLS, WORDS, find_level, prefix_level
from shipper.parsers.layout.scan import HEAD, Scanner
from shipper.parsers.numbers import numeric_attributes
from shipper.parsers.stacktrace import attach

LAYOUTS: Final = 4
"""layouts a stream keeps (interleaved files); the least recently learned goes first"""
_DAY_S: Final = 86_400


class TextParser(Parser):
    """Timestamped text lines of any layout; lines without a timestamp join the event before."""

    name = "text"
    joins_lines = True

    def __init__(self, env: ParseEnv) -> None:
        super().__init__(env)
        self.scanner = Scanner(env.settings.date_order)
        self.layouts: list[Layout] = []
        self.declared = env.settings.format == "text"

    def parse(self, text: str) -> Event | None:
        clock = self.clock
        for layout in self.layouts:
            timestamp = layout.timestamp(text, self.scanner, clock)
            if timestamp is not None:
                return self._event(text, layout, timestamp)
        if self.declared:
            return self.learn(text)
        return None

    def learn(self, text: str, looked: bool = False) -> Event | None:
        """The event for `text` read by the scanner, its layout kept for the lines that follow; None when `text` has no
        timestamp in its head. `looked`: the caller made the scanner's first look, and it found a sign of one."""
        found = self.candidate(text, looked)
        if found is None:
            return None
        layout, event = found
        self.adopt(layout)
        return event

    def candidate(self, text: str, looked: bool = False) -> tuple[Layout, Event] | None:
        """What `learn` would make of `text`, without keeping its layout."""
        clock = self.clock
        scanner = self.scanner
        scanner.max_epoch = clock.observed_ns // 1_000_000_000 + _DAY_S
        stamp = scanner.find(text, HEAD, looked)
        if stamp is None:
            return None
        head = stamp_head(stamp, clock)
        if head is None:
            return None
        layout = Layout(stamp, text)
        layout.heads[layout.key(text)] = head
        layout.observed_date = clock.observed_date
        timestamp = layout.timestamp(text, scanner, clock)
        if timestamp is None:
            return None
        return layout, self._event(text, layout, timestamp)

    def adopt(self, layout: Layout) -> None:
        """Keep `layout` first among the stream's layouts."""
        layouts = self.layouts
        for index, known in enumerate(layouts):
            if known.start == layout.start and known.shape == layout.shape and known.order == layout.order:
                layouts.pop(index)
                break
        layouts.insert(0, layout)
        if len(layouts) > LAYOUTS:
            layouts.pop()

    def _event(self, text: str, layout: Layout, timestamp: str) -> Event:
        line = text
        newline = text.find("\n")
        if newline != -1:
            line = text[:newline]
        level, number, body_start = find_level(line, layout.end)
        kind = layout.kind
        if kind == KIND_KLOG and not number:
            level, number = line[0], LETTERS.get(line[0], 0)
        elif kind == KIND_REDIS and not number:
            symbol = line[body_start:body_start + 1]
            number = REDIS_SYMBOLS.get(symbol, 0)
            if number and line[body_start + 1:body_start + 2] == " ":
                level, body_start = symbol, body_start + 2
        if layout.start > 0:
            # a level before the timestamp is the record's (Django's `ERROR 2026-...`, Erlang's `=ERROR REPORT====`)
            prefix, prefix_number = prefix_level(line, layout.start)
            if prefix_number:
                level, number = prefix, prefix_number
        body = line[body_start:]
        attributes: dict[str, Any] = {TIMEZONE: self.clock.zone_name} if layout.zone_assumed else {}
        numbers = numeric_attributes(body)
        if numbers:
            attributes.update(numbers)
        attributes[ORIGINAL] = text
        event = parsed(timestamp, level if number else None, number, body, attributes)
        if newline != -1:
            return self.parse_joined(text, event)
        return event

    def continues(self, text: str) -> bool:
        """A line continues the event before unless it has a timestamp in its head or is a
        JSON object or a syslog PRI; an indented line always continues (stack frames, wrapped statements)."""
        if not self.layouts:
            return False
        first = text[:1]
        if first in {" ", "\t"}:
            return True
        if first == "{" or (first == "<" and text[1:2].isdigit()):
            return False
        return self.scanner.find(text) is None

    def parse_joined(self, text: str, first: Event) -> Event:
        if not first["severity_number"]:
            # java.util.logging's SimpleFormatter writes the level at the start of the second line (`INFO: started`)
            second = text.partition("\n")[2]
            colon = second.find(":", 0, 12)
            if colon > 0:
                word = second[:colon]
                number = WORDS.get(word, 0)
                if number:
                    first["severity_text"], first["severity_number"] = word, level_number(word) or number
        return attach(first, text)

    def reject_reason(self, text: str) -> str:
        return "the line has no date-time in its first 64 characters"


# No probes: auto tries text itself, after every candidate of the line's shape refused it (shipper.parsers.auto).
FORMAT: Format = Format(TextParser)
