"""Event fields by name, and `rename` / `remove` on an event's attributes.

A field name (drop `field`, `{...}` in a topic template) is a top-level key of the event (`body`, `severity_text`,
`severity_number`, `format`, `input_id`, `timestamp`, `trace_id`, ...), or `attributes.<key>` / `resource.<key>`
(keys with dots are whole keys: `attributes.http.response.status_code`), or a bare key looked up in the resource,
then the attributes, then the top level (`service.name`, `http.method`).

`rename` and `remove` name attribute keys; the shipper's log.file.* attributes are refused (where an event came
from is part of its identity downstream).
"""

from typing import Any

from logferry.errors import ConfigError

Event = dict[str, Any]
MISSING: Any = object()
PROTECTED_PREFIX = "log.file."


def field_value(event: Event, name: str) -> Any:
    """The value `name` names in `event`, MISSING when it has none."""
    if name.startswith("attributes."):
        return event.get("attributes", {}).get(name[11:], MISSING)
    if name.startswith("resource."):
        return (event.get("resource") or {}).get(name[9:], MISSING)
    resource = event.get("resource")
    if resource and name in resource:
        return resource[name]
    attributes = event.get("attributes")
    if attributes and name in attributes:
        return attributes[name]
    return event.get(name, MISSING)


class AttributeEdits:
    """The input's `rename` (old key -> new key) and `remove` (keys), applied in that order."""

    def __init__(self, rename: dict[str, str], remove: list[str], where: str) -> None:
        for old, new in rename.items():
            for key, value in ((f"{where}.rename.{old}", old), (f"{where}.rename.{old}", new)):
                if not value:
                    raise ConfigError(key, "must name a non-empty attribute key")
                if value.startswith(PROTECTED_PREFIX):
                    raise ConfigError(key, f"{value!r}: the shipper's log.file.* attributes cannot be renamed")
        for i, name in enumerate(remove):
            if not name:
                raise ConfigError(f"{where}.remove[{i}]", "must name a non-empty attribute key")
            if name.startswith(PROTECTED_PREFIX):
                raise ConfigError(f"{where}.remove[{i}]", f"{name!r}: the shipper's log.file.* attributes cannot be removed")
        self.rename = list(rename.items())
        self.remove = list(remove)

    def apply(self, event: Event) -> None:
        attributes = event.get("attributes")
        if not attributes:
            return
        for old, new in self.rename:
            if old in attributes:
                attributes[new] = attributes.pop(old)
        for name in self.remove:
            attributes.pop(name, None)
