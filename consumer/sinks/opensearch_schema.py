"""The document layout and templates, now shared by both search engines: see consumer.sinks.engine_schema (these
names stay importable from here)."""

from consumer.sinks.engine_schema import (
    SINK_FIELD,
    conflicts_index,
    deadletters_index,
    events_index,
    from_document,
    to_document,
)

__all__ = ["SINK_FIELD", "conflicts_index", "deadletters_index", "events_index", "from_document", "to_document"]
