"""Held lines: the event being assembled from several records (multiline patterns, stack traces, partial
container records). Bounded by max_lines and max_bytes; the event's offset is its first line's."""

from dataclasses import dataclass, field
from typing import Literal

from shipper.parsers.base import Event, Parser
from shipper.records import RawRecord

GroupKind = Literal["pattern", "lines", "partial"]


@dataclass
class Group:
    """Consecutive records that will become one event."""

    kind: GroupKind
    """pattern: the input's multiline pattern; lines: a parser's own continuation lines; partial: container pieces."""
    parser: Parser | None
    offset: int
    end: int
    texts: list[str]
    size: int
    last_ns: int
    first: Event | None = None
    events: list[Event] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, kind: GroupKind, parser: Parser | None, record: RawRecord, text: str, *, flags: list[str], now_ns: int,
              first: Event | None = None) -> "Group":
        group = cls(kind, parser, record.offset, record.end, [text], len(record.data), now_ns, first, flags=list(flags))
        if first is not None and kind == "partial":
            group.events.append(first)
        return group

    def fits(self, record: RawRecord, max_lines: int, max_bytes: int) -> bool:
        """Whether `record` may still join without passing the limits."""
        return len(self.texts) < max_lines and self.size + len(record.data) <= max_bytes

    def add(self, record: RawRecord, text: str, flags: list[str], now_ns: int, event: Event | None = None) -> None:
        self.texts.append(text)
        self.end = record.end
        self.size += len(record.data)
        self.last_ns = now_ns
        for flag in flags:
            if flag not in self.flags:
                self.flags.append(flag)
        if event is not None:
            self.events.append(event)

    def text(self) -> str:
        """The raw text of the event: its lines joined with newlines."""
        return self.texts[0] if len(self.texts) == 1 else "\n".join(self.texts)
