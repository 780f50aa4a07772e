"""User search text to an FTS5 query: every word must appear, and no character is FTS5 syntax.

Each whitespace-separated word becomes a quoted phrase, so `disk-full` or `user:42` match as written (the
tokenizer splits them into adjacent tokens) instead of being read as FTS5 operators.

Attribute equalities are checked on the event itself (`attribute_matches`): exact, whatever the tokenizer does.
"""

from collections.abc import Iterator
from typing import Any

import orjson


def fts_query(text: str) -> str:
    words = text.split()
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


def attribute_text(value: Any) -> str:
    """An attribute value as text for equality: strings as they are, everything else as JSON (42, true, null)."""
    return value if type(value) is str else orjson.dumps(value).decode()


def flat_attributes(attributes: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every (key, value) of `attributes`, and of nested objects under their dotted path ("db.host")."""
    for key, value in attributes.items():
        path = prefix + key
        yield path, value
        if type(value) is dict:
            yield from flat_attributes(value, path + ".")


class AttributeFilter:
    """Every (key, value) of `wanted` must be one of the event's attributes (a list value matches any element)."""

    def __init__(self, wanted: tuple[tuple[str, str], ...]) -> None:
        self._wanted = wanted
        # Cheap first: an event whose bytes lack a wanted value (as JSON text, escapes and all) is not parsed.
        self._needles = [orjson.dumps(value)[1:-1] for _key, value in wanted]

    def match(self, raw: bytes) -> dict[str, Any] | None:
        """The event of `raw` when it has every wanted attribute, else None."""
        if b"\\u" not in raw:  # \u escapes could spell a value the byte check cannot see
            for needle in self._needles:
                if needle not in raw:
                    return None
        event = orjson.loads(raw)
        attributes = event.get("attributes")
        if type(attributes) is not dict:
            return None
        flat: dict[str, list[str]] = {}
        for key, value in flat_attributes(attributes):
            texts = flat.setdefault(key, [])
            if type(value) is list:
                texts.extend(attribute_text(item) for item in value)
            texts.append(attribute_text(value))
        for key, value in self._wanted:
            if value not in flat.get(key, ()):
                return None
        found: dict[str, Any] = event
        return found
