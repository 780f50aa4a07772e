"""The content hash of an event: what must be equal when the shipper legitimately sends the same record again.

The shipper sends a record again after a crash, a restart before the checkpoint, a rotation (the file renamed, its
identity kept) or a consumer replay. The event id stays (stream id + offset); these fields may change and are left
out of the hash:

- `observed_timestamp`: the time the record was read.
- `timestamp`: derived from the observed time when the line has no timestamp or only part of one (plain lines,
  time-only Java lines take today's date, year-less syslog dates take the year from the observed month).
- `attributes["log.file.path"]`, `attributes["log.file.name"]`: a renamed (rotated) file keeps its identity.
- `attributes["event.timezone"]`, `format`, `input_id`, and every `resource` field except `host.id`
  (`service.name`, `host.name`, static resource fields): they come from the shipper's config or the OS, not from
  the line, and may change across a restart.

Everything else is in the hash: the body, severity, trace and span ids, the other attributes (what the parser read
from the line, `log.record.original`, `log.file.record_offset`), the parse flags, the event id and the host id the
event claims. A forged event with a predicted event id differs in one of these, or it says what the real line says.
"""

import hashlib
from typing import Any

import orjson

HASH_BYTES = 16
# Top-level fields that may differ between two legitimate sends of one record (see the module's docstring).
VARYING_FIELDS = ("timestamp", "observed_timestamp", "format", "input_id")
VARYING_ATTRIBUTES = ("log.file.path", "log.file.name", "event.timezone")
_SORTED = orjson.OPT_SORT_KEYS


def content_hash(event: dict[str, Any]) -> bytes:
    """16 bytes of BLAKE2b over the event's stable fields, as canonical JSON (sorted keys); `event` is not changed."""
    stable = dict(event)
    for name in VARYING_FIELDS:
        stable.pop(name, None)
    attributes = stable.get("attributes")
    if isinstance(attributes, dict) and not attributes.keys().isdisjoint(VARYING_ATTRIBUTES):
        stable["attributes"] = {k: v for k, v in attributes.items() if k not in VARYING_ATTRIBUTES}
    resource = stable.get("resource")
    stable["resource"] = resource.get("host.id") if isinstance(resource, dict) else None
    return hashlib.blake2b(orjson.dumps(stable, option=_SORTED), digest_size=HASH_BYTES).digest()
