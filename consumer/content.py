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

from hashlib import sha256
from typing import Any

import orjson

HASH_BYTES = 16
# Top-level fields that may differ between two legitimate sends of one record (see the module's docstring); popped
# one by one in content_hash, which is cheaper than a loop over this.
VARYING_FIELDS = ("timestamp", "observed_timestamp", "format", "input_id")
VARYING_ATTRIBUTES = ("log.file.path", "log.file.name", "event.timezone")  # popped one by one, likewise
_SORTED = orjson.OPT_SORT_KEYS
dumps = orjson.dumps


def content_hash(event: dict[str, Any]) -> bytes:
    """The first 16 bytes of SHA-256 over the event's stable fields as canonical JSON (sorted keys); `event` is not
    changed. SHA-256 rather than BLAKE2b: OpenSSL's is cheaper for a few hundred bytes (0.6 against 0.9 us), and a
    forger would need a second preimage of a line not written yet."""
    stable = dict(event)
    pop = stable.pop
    pop("timestamp", None)
    pop("observed_timestamp", None)
    pop("format", None)
    pop("input_id", None)
    attributes = stable.get("attributes")
    if type(attributes) is dict and attributes:
        attributes = stable["attributes"] = dict(attributes)
        pop = attributes.pop
        pop("log.file.path", None)
        pop("log.file.name", None)
        pop("event.timezone", None)
    resource = stable.get("resource")
    stable["resource"] = resource.get("host.id") if type(resource) is dict else None
    return sha256(dumps(stable, option=_SORTED)).digest()[:HASH_BYTES]
