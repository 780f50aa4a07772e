"""[[inputs.drop]]: events left out after parsing, by a condition on one field.

A rule drops an event when its field `equals` one of the listed values (same value and kind: 200 is not "200"),
when its text `matches` a pattern (RE2, shipper.processing.patterns), or when its number is `below` a bound
(severity_number below 9 drops TRACE and DEBUG); any of those it has. An event without the field is kept.
A dropped event's lines still move the checkpoint, and it is counted with the rule's name as the reason.
"""

from typing import Any

from logferry.errors import ConfigError
from shipper.config import DropSettings
from shipper.processing.fields import MISSING, Event, field_value
from shipper.processing.patterns import compile_user


def _same(value: Any, wanted: Any) -> bool:
    # bool is an int to Python: true must not equal 1, nor 200 equal "200"
    if isinstance(value, bool) or isinstance(wanted, bool):
        return isinstance(value, bool) and isinstance(wanted, bool) and value is wanted
    if isinstance(value, (int, float)) and isinstance(wanted, (int, float)):
        return value == wanted
    return type(value) is type(wanted) and value == wanted


class DropRule:
    def __init__(self, settings: DropSettings, where: str) -> None:
        if not settings.field:
            raise ConfigError(f"{where}.field", "must name a field (body, severity_text, attributes.<key>, ...)")
        if not settings.equals and not settings.matches and settings.below is None:
            raise ConfigError(where, "needs a condition: equals, matches or below")
        self.name = settings.name
        self.field = settings.field
        self.equals = list(settings.equals)
        self.search = compile_user(settings.matches, f"{where}.matches").search if settings.matches else None
        self.below = settings.below

    def drops(self, event: Event) -> bool:
        value = field_value(event, self.field)
        if value is MISSING or value is None:
            return False
        if self.equals and any(_same(value, wanted) for wanted in self.equals):
            return True
        if self.below is not None and isinstance(value, (int, float)) and not isinstance(value, bool) and value < self.below:
            return True
        if self.search is not None:
            text = value if isinstance(value, str) else str(value)
            return self.search(text) is not None
        return False
