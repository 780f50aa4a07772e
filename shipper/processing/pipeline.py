"""Per input, the processors its settings ask for, built once (shipper.files builds one per input at start).

Order: include_lines / exclude_lines on the raw lines (a `FilteredParser` around the stream's parser), then, on
each parsed event: the drop rules, rename, remove, the redaction rules, the topic template. An input that asks for
nothing gets nothing: `wrap` returns its parser itself and `chain` is None, so its lines and events take exactly
the path they take without this package. An input with post-parse processing has each event decoded from the
encoder's JSON and, when changed, encoded again with the same key order (orjson keeps it); its event_id, offsets and
Kafka key stay as the encoder made them.
"""

from typing import TYPE_CHECKING, Final

import orjson

from logferry.errors import ConfigError
from shipper.processing.drop import DropRule
from shipper.processing.fields import AttributeEdits
from shipper.processing.filter import FilteredParser, LineFilter, Matcher, matcher
from shipper.processing.redact import Redactor, RedactRule
from shipper.processing.route import TopicTemplate, check_static, is_template
from shipper.records import EncodedEvent

if TYPE_CHECKING:
    from shipper.config import InputSettings
    from shipper.parsers.pipeline import StreamParser
    from shipper.streams import Parsing

_loads: Final = orjson.loads
_dumps: Final = orjson.dumps
_new_tuple: Final = tuple.__new__
_AFTER_ID: Final = len(b'{"event_id":"') + 32
"""Where an event's JSON continues after its event_id (shipper.parsers.encoder: always first, 32 hex digits)."""


class EventChain:
    """What an input's parsed events go through: drop rules, attribute edits, redaction, the topic template."""

    def __init__(
        self, drops: list[DropRule], edits: AttributeEdits | None, redactor: Redactor | None,
        template: TopicTemplate | None, dropped: dict[str, int],
    ) -> None:
        self.drops = drops
        self.edits = edits
        self.redactor = redactor
        self.template = template
        self.dropped = dropped
        self.changes = edits is not None or redactor is not None
        # Redaction alone with built-in rules: an event whose JSON holds none of their hints is not decoded. Its JSON
        # from the first key after the event_id: the id's hex digits are no card number.
        only_redaction = redactor is not None and not drops and edits is None and template is None
        self.screen = redactor.screen if only_redaction and redactor is not None else None

    def apply(self, events: list[EncodedEvent]) -> tuple[list[EncodedEvent], list[str] | None]:
        """The events kept (changed where the chain changes them), and with a template each one's topic."""
        out: list[EncodedEvent] = []
        template = self.template
        topics: list[str] | None = [] if template is not None else None
        drops, edits, redactor, changes, dropped = self.drops, self.edits, self.redactor, self.changes, self.dropped
        screen = self.screen
        for encoded in events:
            value = encoded[2]
            if screen is not None and screen(value, _AFTER_ID) is None:
                out.append(encoded)
                continue
            event = _loads(value)
            reason = next((rule.name for rule in drops if rule.drops(event)), None) if drops else None
            if reason is not None:
                dropped[reason] = dropped.get(reason, 0) + 1
                continue
            if edits is not None:
                edits.apply(event)
            if redactor is not None:
                redactor.apply(event)
            if topics is not None:
                assert template is not None
                topics.append(template.topic(event))
            if changes:
                offset, end, _, event_id = encoded
                out.append(_new_tuple(EncodedEvent, (offset, end, _dumps(event), event_id)))
            else:
                out.append(encoded)
        return out, topics


class InputProcessing:
    """One input's processing and its counters (read by shipper.metrics)."""

    def __init__(self, settings: "InputSettings", default_topic: str, where: str) -> None:
        self.input_id = settings.id
        self.dropped: dict[str, int] = {}
        """Lines and events left out, by reason: include_lines, exclude_lines or a drop rule's name."""
        self.redacted: dict[str, int] = {}
        """Events changed, by redaction rule name."""
        include, exclude = settings.include_lines, settings.exclude_lines
        self._matchers: dict[bool, tuple[Matcher | None, Matcher | None]] = {}
        for as_bytes in (True, False):  # built (and so validated) now; bytes for UTF-8 inputs, str for the others
            self._matchers[as_bytes] = (
                matcher(include, f"{where}.include_lines", as_bytes=as_bytes),
                matcher(exclude, f"{where}.exclude_lines", as_bytes=as_bytes),
            )
        self.filters_lines = bool(include or exclude)
        drops = [DropRule(rule, f"{where}.drop[{i}]") for i, rule in enumerate(settings.drop)]
        edits = AttributeEdits(settings.rename, settings.remove, where) if settings.rename or settings.remove else None
        rules = [RedactRule(rule, f"{where}.redact[{i}]") for i, rule in enumerate(settings.redact)]
        names = [rule.name for rule in rules]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ConfigError(f"{where}.redact[{i}].name", f"{name!r} names another rule of this input too")
        redactor = Redactor(rules, self.redacted) if rules else None
        self.topic: str | None = None
        """The input's static topic; None for kafka.topic or a template."""
        template = None
        if settings.topic:
            if is_template(settings.topic):
                template = TopicTemplate(settings.topic, default_topic, f"{where}.topic")
            else:
                check_static(settings.topic, f"{where}.topic")
                self.topic = settings.topic
        self.chain: EventChain | None = None
        """None when the input's events are not touched after parsing."""
        if drops or edits is not None or redactor is not None or template is not None:
            self.chain = EventChain(drops, edits, redactor, template, self.dropped)

    def wrap(self, parser: "StreamParser", encoding: str) -> "Parsing":
        """The parser a stream of this input in `encoding` uses: `parser` itself when no line is filtered."""
        if not self.filters_lines:
            return parser
        include, exclude = self._matchers[encoding == "utf-8"]
        return FilteredParser(parser, LineFilter(include, exclude, encoding, self.dropped))


def check_processing(settings: "InputSettings", where: str) -> None:
    """ConfigError, naming the key, for any processing setting of the input that cannot be built."""
    InputProcessing(settings, "logs", where)
