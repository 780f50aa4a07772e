"""`topic` per input: a static topic name, or a template filled from each event.

`topic = "web"` sends the input's events to topic web instead of kafka.topic. `topic = "logs-{service.name}"`
names each event's topic from its fields (shipper.processing.fields names them). A field's value is made a valid
topic name (characters other than letters, digits, '.', '_' and '-' become '_'); an event without the field, or
whose topic would be empty or too long, goes to kafka.topic. The topics must exist (or the broker create them):
events for a topic that does not exist wait in the producer, and the checkpoint with them.
"""

import re
from typing import Final

from logferry.errors import ConfigError
from shipper.processing.fields import MISSING, Event, field_value

_TOPIC: Final = re.compile(r"[A-Za-z0-9._-]{1,249}")
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._-]")
_PART: Final = re.compile(r"\{([^{}]*)\}")


def is_template(topic: str) -> bool:
    return "{" in topic or "}" in topic


class TopicTemplate:
    """A topic named from each event's fields."""

    def __init__(self, template: str, fallback: str, key: str) -> None:
        pieces: list[tuple[str, bool]] = []
        position = 0
        for match in _PART.finditer(template):
            pieces.append((template[position:match.start()], False))
            name = match.group(1).strip()
            if not name:
                raise ConfigError(key, f"{template!r} has an empty {{}}; name a field such as {{service.name}}")
            pieces.append((name, True))
            position = match.end()
        pieces.append((template[position:], False))
        for text, is_field in pieces:
            if not is_field and ("{" in text or "}" in text):
                raise ConfigError(key, f"{template!r} has an unbalanced '{{' or '}}'")
            if not is_field and text and _UNSAFE.search(text):
                raise ConfigError(key, f"{template!r}: {text!r} has characters a Kafka topic name cannot have")
        self.pieces = [(text, is_field) for text, is_field in pieces if text or is_field]
        self.fallback = fallback

    def topic(self, event: Event) -> str:
        parts: list[str] = []
        for text, is_field in self.pieces:
            if not is_field:
                parts.append(text)
                continue
            value = field_value(event, text)
            if value is MISSING or value is None or value == "":
                return self.fallback
            parts.append(_UNSAFE.sub("_", str(value)))
        name = "".join(parts)
        return name if _TOPIC.fullmatch(name) and name not in (".", "..") else self.fallback


def check_static(topic: str, key: str) -> None:
    if not _TOPIC.fullmatch(topic) or topic in (".", ".."):
        raise ConfigError(key, f"{topic!r} is not a valid Kafka topic name")
