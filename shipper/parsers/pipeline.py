"""The per-stream parsing pipeline the harvester calls: decode, group lines, parse, serialise.

Contract with the harvester (shipper.harvest):
- `feed(records, observed_ns)` takes complete lines in file order and returns the events that are
  complete. Records may be held back (multiline grouping); `held_from()` then names the offset of the
  first held record, and the checkpoint must not pass it.
- `flush(observed_ns, force)` emits held events whose flush timeout has passed, or all of them when
  `force` (the file was closed for good: deleted, rotated away and drained).
- Never raises on bad input: a line nobody understands becomes an event with the raw line as body and
  parse_error set; so does a line whose parse was stopped at its bound (shipper.parsers.bounded), flagged
  `parse_timeout`.

What an event looks like on the wire (its JSON, event_id, the failure event, the Kafka headers) is
shipper.parsers.encoder's: parsers return parsed fields, the encoder serialises them.

Speed: in auto mode the stream settles, per leading character of a line, on the format that last matched
such a line, so a line costs one parse, not a trial of every format, even when formats interleave; each
route keeps the encoder's serialised batch fields (`Heads`) of its format.
"""

import gc
from collections.abc import Sequence
from typing import Final

from shipper.config import InputSettings
from shipper.parsers.auto import Prober
from shipper.parsers.base import JOINS, Event, ParseEnv, Parser, observed_event
from shipper.parsers.bounded import Bounded, ParseBudgetExceeded
from shipper.parsers.clock import Clock
from shipper.parsers.encoder import Heads, StreamEncoder
from shipper.parsers.multiline import Group
from shipper.records import EncodedEvent, RawRecord, RecordFields, StreamContext

_new_tuple: Final = tuple.__new__  # RawRecord(...) goes through a Python-level __new__; this is the same tuple, cheaper
_ROUTE_LIMIT: Final = 64


class _Unsettled(Parser):
    """auto before any line matched: every line is probed."""

    name = "auto"

    def parse(self, text: str) -> Event | None:
        return None


class StreamParser:
    """Turns one stream's raw records into serialised unified events."""

    def __init__(self, settings: InputSettings, context: StreamContext) -> None:
        self.settings = settings
        self.context = context
        self.clock = Clock(settings.timezone)
        env = ParseEnv(self.clock, settings, context.resource)
        self._prober = Prober(env)
        self._auto = settings.format == "auto"
        self._parser: Parser = _Unsettled(env) if self._auto else self._prober.parser(settings.format)
        self._encoding = context.encoding
        self._encoder = StreamEncoder(context, self.clock)
        multiline = settings.multiline
        # the user's grouping pattern runs per line: bounded like the built-in ones (a timeout on long lines)
        self._pattern = Bounded(multiline.pattern) if multiline.mode != "off" else None
        self._starts = multiline.mode == "start"
        self._max_lines = multiline.max_lines
        self._max_bytes = multiline.max_bytes
        self._timeout_ns = int(multiline.flush_timeout * 1_000_000_000)
        self._pending: Group | None = None
        self._observed_ns = 0
        self._grouping = False
        self._routes: dict[str, Parser] = {}
        """auto: the parser that last read a line starting with each character (plain excepted)"""
        self._settle(self._parser)

    # -- the harvester's interface ---------------------------------------------------------------------

    def feed(self, records: Sequence[RecordFields], observed_ns: int) -> list[EncodedEvent]:
        """The events completed by `records` (complete lines in file order)."""
        # The events are acyclic dicts; with the cyclic collector on, it runs every ~700 allocations and took ~9%
        # of the time (bench/parse_throughput.py). Paused for the batch only; it changes when it runs, not what.
        collecting = gc.isenabled()
        if collecting:
            gc.disable()
        try:
            return self._feed(records, observed_ns)
        finally:
            if collecting:
                gc.enable()

    def _feed(self, records: Sequence[RecordFields], observed_ns: int) -> list[EncodedEvent]:
        self.clock.set_observed(observed_ns)
        self._observed_ns = observed_ns
        out: list[EncodedEvent] = []
        encoding = self._encoding
        utf8 = encoding == "utf-8"  # decoded by a direct call when the codec is named as a constant
        encoder = self._encoder
        auto = self._auto
        # auto: the settled parser per leading character, with this batch's heads (so interleaved formats each settle)
        # (parsers called as native methods: a bound method would go through the generic call protocol per line)
        routes: dict[str, tuple[Parser, Heads]] = {
            first: (parser, encoder.heads(parser.name)) for first, parser in self._routes.items()
        }
        parser = self._parser
        heads = encoder.heads(parser.name)
        slow = self._grouping
        for record in records:
            offset, end, data, truncated = record
            try:
                text = data.decode("utf-8") if utf8 else data.decode(encoding)
                replaced = False
            except UnicodeDecodeError:
                text = data.decode(encoding, "replace")
                replaced = True
            if slow or truncated or replaced:
                self._slow_line(_new_tuple(RawRecord, (offset, end, data, truncated)), text, replaced, out)
                parser = self._parser
                heads = encoder.heads(parser.name)
                slow = self._grouping
                continue
            try:
                if auto:
                    route = routes.get(text[:1])
                    event = None
                    if route is not None:
                        line_parser, line_heads = route
                        event = line_parser.parse(text)
                    if event is None:
                        found = self._probe_single_line(text)
                        if found is None:
                            self._slow_line(_new_tuple(RawRecord, (offset, end, data, truncated)), text, replaced, out)
                            slow = self._grouping
                            continue
                        line_parser, event = found
                        line_heads = encoder.heads(line_parser.name)
                        if line_parser.name != "plain":  # plain never settles: one odd line must not hide a format
                            if len(routes) >= _ROUTE_LIMIT:
                                routes.clear()
                            routes[text[:1]] = (line_parser, line_heads)
                else:
                    event = parser.parse(text)
                    if event is None:
                        self._slow_line(_new_tuple(RawRecord, (offset, end, data, truncated)), text, replaced, out)
                        slow = self._grouping
                        continue
                    line_heads = heads
                if len(event) != 5 and JOINS in event:  # it takes the lines after it (a Go panic): held, on the slow path
                    self._slow_line(_new_tuple(RawRecord, (offset, end, data, truncated)), text, replaced, out)
                    parser = self._parser
                    heads = encoder.heads(parser.name)
                    slow = self._grouping
                    continue
                out.append(encoder.encode(event, line_heads, offset, end))
            except Exception as error:  # a parser bug must not lose the line
                name = self._parser.name
                out.append(encoder.failure(text, offset, end, log_format=name, reason=_bug(error), flags=_error_flags(error, [])))
        return out

    def flush(self, observed_ns: int, *, force: bool) -> list[EncodedEvent]:
        """Held events whose flush timeout passed (all of them when `force`)."""
        self.clock.set_observed(observed_ns)
        self._observed_ns = observed_ns
        out: list[EncodedEvent] = []
        pending = self._pending
        if pending is not None and (force or observed_ns - pending.last_ns >= self._timeout_ns):
            self._emit_pending(out, cut=False)
            self._settle(self._parser)
        return out

    def held_from(self) -> int | None:
        """The offset of the first held record, or None when nothing is held."""
        return None if self._pending is None else self._pending.offset

    # -- grouping and the uncommon paths ---------------------------------------------------------------

    def _slow_line(self, record: RawRecord, text: str, replaced: bool, out: list[EncodedEvent]) -> None:
        # (_feed names the record's fields with tuple.__new__: compiled, its loop holds them unboxed, and
        # RawRecord._make is a Python-level call per line, which every line of a multiline format pays)
        flags = _flags(record.truncated, replaced)
        try:
            if self._pattern is not None:
                self._pattern_line(record, text, flags, out)
            else:
                self._parser_line(record, text, flags, out)
        except Exception as error:  # a parser bug must not lose the line
            if self._pending is None or self._pending.end != record.end:  # else held: it goes out with its group
                self._emit_pending(out, cut=False)  # the held event first: events go out in file order
                name = self._parser.name
                out.append(self._failure(text, record.offset, record.end, log_format=name, reason=_bug(error),
                                         flags=_error_flags(error, flags)))
        if (self._pending is None) == self._grouping:  # a JOINS event's group started, or ended: the fast path again
            self._settle(self._parser)

    def _pattern_line(self, record: RawRecord, text: str, flags: list[str], out: list[EncodedEvent]) -> None:
        """Grouping by the input's multiline pattern: start mode (a match starts an event) or continue mode."""
        assert self._pattern is not None
        matched = self._pattern.search(text) is not None
        starts = matched if self._starts else not matched
        pending = self._pending
        if pending is not None:
            if not starts and pending.fits(record, self._max_lines, self._max_bytes):
                pending.add(record, text, flags, self._observed_ns)
                return
            self._emit_pending(out, cut=not starts)
        self._pending = Group.start("pattern", None, record, text, flags=flags, now_ns=self._observed_ns)

    def _parser_line(self, record: RawRecord, text: str, flags: list[str], out: list[EncodedEvent]) -> None:
        """One line without an input pattern: the settled parser, its own continuation lines or partial records, probes."""
        parser = self._parser
        event = parser.parse(text)
        pending = self._pending
        if pending is not None:
            if pending.kind == "partial":
                if event is not None and pending.parser is parser:
                    if pending.fits(record, self._max_lines, self._max_bytes):
                        pending.add(record, text, flags, self._observed_ns, event)
                        if not parser.partial(event):
                            self._emit_pending(out, cut=False)
                        return
                    self._emit_pending(out, cut=True)
                else:
                    self._emit_pending(out, cut=False)
            elif event is None:
                found = None
                if self._auto and not parser.continues(text):
                    found = self._prober.probe(text, skip=parser)
                    if found is not None and found[0].name == "plain":
                        found = None
                if found is None:  # a line no format claims continues the event (declared: every non-start line)
                    if pending.fits(record, self._max_lines, self._max_bytes):
                        pending.add(record, text, flags, self._observed_ns)
                        return
                    self._emit_pending(out, cut=True)
                    # the rest of a cut event: held as a headless group of the same format, flagged
                    cut_flags = [*flags, "multiline_truncated"]
                    self._pending = Group.start("lines", parser, record, text, flags=cut_flags, now_ns=self._observed_ns)
                    return
                self._emit_pending(out, cut=False)
                parser, event = found
                self._settle(parser)
            else:
                self._emit_pending(out, cut=False)
        if event is None:
            if self._auto:
                found = self._prober.probe(text, skip=parser)
                if found is None:
                    strict = self._prober.reject_reason(text)
                    if strict is not None:
                        name, reason = strict
                        out.append(self._failure(text, record.offset, record.end, log_format=name, reason=reason, flags=flags))
                        return
                    found = (self._prober.parser("plain"), self._prober.parser("plain").parse(text) or {})
                parser, event = found
                if parser.name != "plain":
                    self._settle(parser)
            else:
                reason = parser.reject_reason(text)
                out.append(self._failure(text, record.offset, record.end, log_format=parser.name, reason=reason, flags=flags))
                return
        if parser.joins_lines:
            self._pending = Group.start("lines", parser, record, text, flags=flags, now_ns=self._observed_ns, first=event)
        elif JOINS in event:  # held as a joins_lines parser's event is (`in`, `del`: compiled, no method call as pop())
            del event[JOINS]
            self._pending = Group.start("lines", parser, record, text, flags=flags, now_ns=self._observed_ns, first=event)
        elif parser.has_partials and parser.partial(event):
            self._pending = Group.start("partial", parser, record, text, flags=flags, now_ns=self._observed_ns, first=event)
        else:
            out.append(self._encode(parser, event, record.offset, record.end, flags))

    def _emit_pending(self, out: list[EncodedEvent], *, cut: bool) -> None:
        group = self._pending
        if group is None:
            return
        self._pending = None
        # (a cut event's rest is flagged from its start: cut again, it must not name the flag twice)
        flags = [*group.flags, "multiline_truncated"] if cut and "multiline_truncated" not in group.flags else group.flags
        text = group.text()
        try:
            parser = group.parser
            event: Event | None = None
            if parser is not None:
                if group.kind == "partial":
                    event = parser.merge(group.events, text)
                elif group.first is not None:
                    event = group.first if len(group.texts) == 1 else parser.parse_joined(text, group.first)
                elif group.kind == "lines":
                    event = observed_event(self.clock, text, {}, unparsed=False)
            if parser is None or event is None:
                parser = self._parser
                event = parser.parse(text)
                if event is not None and JOINS in event:  # grouped by the input's pattern, not by its parser
                    del event[JOINS]
                if event is None:
                    if not self._auto:
                        reason, name = parser.reject_reason(text), parser.name
                        out.append(self._failure(text, group.offset, group.end, log_format=name, reason=reason, flags=flags))
                        return
                    found = self._prober.probe(text)
                    parser, event = found if found is not None else (self._prober.parser("plain"), {})
                    if not event:
                        event = self._prober.parser("plain").parse(text) or {}
            out.append(self._encode(parser, event, group.offset, group.end, flags))
        except Exception as error:  # a parser bug must not lose the lines
            name = self._parser.name
            out.append(self._failure(text, group.offset, group.end, log_format=name, reason=_bug(error),
                                     flags=_error_flags(error, flags)))

    def _probe_single_line(self, text: str) -> tuple[Parser, Event] | None:
        """auto, no line held: the parser and event for `text` when it needs no grouping (settling on it unless plain);
        None to take the slow path."""
        found = self._prober.probe(text)
        if found is None:
            if text[:1] == "{":
                return None  # a broken JSON line: the slow path flags it
            plain = self._prober.parser("plain")
            event = plain.parse(text)
            return None if event is None else (plain, event)
        parser = found[0]
        if parser.joins_lines or parser.has_partials:
            return None
        self._settle(parser)
        if len(self._routes) >= _ROUTE_LIMIT:
            self._routes.clear()
        self._routes[text[:1]] = parser
        return found

    def _settle(self, parser: Parser) -> None:
        self._parser = parser
        # held lines (pattern, stack traces, partial records) take the slow path until emitted
        self._grouping = self._pattern is not None or parser.joins_lines or parser.has_partials or self._pending is not None

    # -- serialising (shipper.parsers.encoder) -------------------------------------------------------------

    def _encode(self, parser: Parser, event: Event, offset: int, end: int, flags: list[str]) -> EncodedEvent:
        event.pop("_partial", None)  # the parsers' mark of a partial record (Parser.partial), not a field
        encoder = self._encoder
        return encoder.encode_flagged(event, encoder.heads(parser.name), offset, end, flags)

    def _failure(self, text: str, offset: int, end: int, *, log_format: str, reason: str, flags: list[str]) -> EncodedEvent:
        """The event for text no parser understood: the raw text as body and as original, with the reason."""
        return self._encoder.failure(text, offset, end, log_format=log_format, reason=reason, flags=flags)


def _flags(truncated: bool, replaced: bool) -> list[str]:
    if truncated:
        return ["truncated", "encoding_replaced"] if replaced else ["truncated"]
    return ["encoding_replaced"] if replaced else []


def _bug(error: Exception) -> str:
    if isinstance(error, ParseBudgetExceeded):
        return str(error)
    return f"parser failure: {type(error).__name__}: {error}"


def _error_flags(error: Exception, flags: list[str]) -> list[str]:
    """The flags of a line whose parser raised `error`: a parse stopped at its bound (bounded) is `parse_timeout`."""
    return [*flags, "parse_timeout"] if isinstance(error, ParseBudgetExceeded) else flags
