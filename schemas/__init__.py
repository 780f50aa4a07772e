"""The unified log event (schema v1): building, identifying, validating and serialising events.

The JSON Schema file beside this module is the contract between the shipper, which writes events,
and the consumer, which indexes them. See README.md in this folder for the field mapping.
"""

from schemas.event import SCHEMA_VERSION, new_event, serialize
from schemas.ids import event_id, stream_id
from schemas.severity import severity_from_python, severity_from_syslog, severity_from_text, severity_from_windows
from schemas.timefmt import format_ns, parse_rfc3339_ns

__all__ = [
    "SCHEMA_VERSION",
    "event_id",
    "format_ns",
    "new_event",
    "parse_rfc3339_ns",
    "serialize",
    "severity_from_python",
    "severity_from_syslog",
    "severity_from_text",
    "severity_from_windows",
    "stream_id",
]
