"""[[inputs.redact]]: secrets replaced before an event leaves the host.

Each rule is a built-in named pattern (shipper.processing.patterns.BUILTINS: credit_card with the Luhn check,
email, bearer_token, aws_key, password) or a user `pattern` (RE2), and a replacement (by default
"[REDACTED:<name>]"). Rules run in their order over every string of the event's body (a structured body's strings
too) and attributes (but the shipper's log.file.path and log.file.name), log.record.original included, so multiline
events, which are whole events by then, are redacted like single lines. The replacement is literal text (no group
references). What is counted: per rule, the events it changed (logferry_shipper_redacted_events_total{input,rule}).

With built-in rules only, an event's JSON is first searched once (RE2) for what any rule's match must contain
(patterns.screen_for): an event without it, most of them, is shipped as encoded, without being decoded.
"""

import re
from collections.abc import Callable
from typing import Any

from logferry.errors import ConfigError
from shipper.config import RedactSettings
from shipper.processing.fields import Event
from shipper.processing.patterns import BUILTINS, compile_user, screen_for

Substitute = Callable[[str], tuple[str, int]]
LOG_FILE = "log.file."


def _builtin(name: str, replacement: str) -> Substitute:
    builtin = BUILTINS[name]
    check = builtin.check
    keeps = "keep" in builtin.regex.groupindex

    def replace(match: "re.Match[str]") -> str:
        if check is not None and not check(match):
            return match.group(0)
        kept = match.group("keep") if keeps else None
        return kept + replacement if kept else replacement

    subn = builtin.regex.subn
    if check is None and not keeps:
        return lambda text: subn(lambda _: replacement, text)  # a function: the replacement is literal text
    if check is None:
        return lambda text: subn(replace, text)

    def confirmed(text: str) -> tuple[str, int]:
        result, candidates = subn(replace, text)
        # a candidate that failed its check is put back unchanged: the text is what was counted
        return (result, 1) if candidates and result != text else (text, 0)

    return confirmed


class RedactRule:
    def __init__(self, settings: RedactSettings, where: str) -> None:
        if bool(settings.builtin) == bool(settings.pattern):
            raise ConfigError(where, "needs exactly one of builtin (a named pattern) or pattern (a regular expression)")
        if settings.builtin and settings.builtin not in BUILTINS:
            raise ConfigError(f"{where}.builtin", f"unknown pattern {settings.builtin!r}; known: {', '.join(BUILTINS)}")
        self.name = settings.name or settings.builtin
        if not self.name:
            raise ConfigError(f"{where}.name", "is required for a rule with a pattern (it names the rule in metrics)")
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", self.name):
            raise ConfigError(f"{where}.name", "must be 1-64 letters, digits, '_', '.' or '-'")
        self.replacement = settings.replacement or f"[REDACTED:{self.name}]"
        self.hints: tuple[str, ...] = ()
        self.folded_hints: tuple[str, ...] = ()
        self.builtin = BUILTINS.get(settings.builtin)
        if self.builtin is not None:
            self.substitute = _builtin(settings.builtin, self.replacement)
            self.hints, self.folded_hints = self.builtin.hints, self.builtin.folded_hints
        else:
            subn = compile_user(settings.pattern, f"{where}.pattern").subn
            replacement = self.replacement
            self.substitute = lambda text: subn(lambda _: replacement, text)


class Redactor:
    """An input's rules; `counts` holds the events each rule changed, by rule name."""

    def __init__(self, rules: list[RedactRule], counts: dict[str, int]) -> None:
        self.rules = [(rule.name, rule.substitute, rule.hints, rule.folded_hints) for rule in rules]
        self.counts = counts
        self._changed: set[str] = set()
        builtins = [rule.builtin for rule in rules if rule.builtin is not None]
        screen = screen_for(builtins) if len(builtins) == len(rules) else None
        self.screen = screen.search if screen is not None else None
        """With built-in rules only: a test of an event's JSON that is false when no rule can change the event."""

    def apply(self, event: Event) -> None:
        changed = self._changed
        changed.clear()
        self._event(event)
        if changed:
            counts = self.counts
            for name in changed:
                counts[name] = counts.get(name, 0) + 1

    def _event(self, event: Event) -> None:
        body = event.get("body")
        if body is not None and not isinstance(body, (int, float)):
            event["body"] = self._value(body)
        attributes = event.get("attributes")
        if attributes:
            for key, value in attributes.items():
                # (log.file.path and log.file.name are the shipper's, from the file's path: not log content)
                if isinstance(value, (str, dict, list)) and not key.startswith(LOG_FILE):
                    attributes[key] = self._value(value)

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._text(value)
        if isinstance(value, dict):
            return {key: self._value(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._value(item) for item in value]
        return value

    def _text(self, text: str) -> str:
        lowered: str | None = None
        for name, substitute, hints, folded_hints in self.rules:
            if (hints or folded_hints) and not any(hint in text for hint in hints):
                if not folded_hints:
                    continue
                if lowered is None:
                    lowered = text.lower()
                if not any(hint in lowered for hint in folded_hints):
                    continue
            text, changed = substitute(text)
            if changed:
                self._changed.add(name)
                lowered = None
        return text
