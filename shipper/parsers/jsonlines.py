"""json: one JSON object per line (nested objects kept, well-known keys mapped into the schema)."""

from typing import Final

import orjson

from shipper.parsers.base import Event, Parser
from shipper.parsers.declaration import Format, Shape
from shipper.parsers.structured import structured_event

_loads: Final = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError


class JsonParser(Parser):
    """A JSON object per line. Valid JSON that is not an object, and broken JSON, are rejected with a reason."""

    name = "json"
    defer_docker = False
    """Set by auto-probing, where json is tried before docker."""

    def parse(self, text: str) -> Event | None:
        if text[:1] != "{" and not text.lstrip().startswith("{"):
            return None
        try:
            value = _loads(text)
        except _JSONDecodeError:
            return None
        if type(value) is not dict:
            return None
        if self.defer_docker and "log" in value and "stream" in value and "time" in value:
            return None  # auto: a docker json-file record, left for the docker parser
        return structured_event(self.env, value, text)

    @staticmethod
    def is_object(text: str) -> bool:
        """Whether `text` is a JSON object."""
        try:
            return type(_loads(text)) is dict
        except _JSONDecodeError:
            return False

    def reject_reason(self, text: str) -> str:
        try:
            value = _loads(text)
        except _JSONDecodeError as error:
            return f"invalid JSON: {error}"
        return f"valid JSON but {type(value).__name__.replace('NoneType', 'null')}, not an object"


FORMAT: Format = Format(JsonParser, probes={Shape.OBJECT: 10})
