"""How unified events look in a search engine (OpenSearch, Elasticsearch): daily indices, the index templates, and the
event <-> document mapping. A mapping that cannot conflict: no valid event is ever refused for its shape.

The schema's own fields are typed explicitly (timestamps `date_nanos`, severity a number, ids and names keywords,
`body` text). Everything whose keys the event's source chooses (`attributes`, `resource`, an object body) is one field
of the engine's flat type (`flat_object` on OpenSearch, `flattened` on Elasticsearch): every leaf is indexed as a
keyword under its dotted path, whatever the nesting, so `{"user": "bob"}` in one event and `{"user.name": "x"}` or
`{"user": {"name": "x"}}` in the next are all fine, `attributes.user.name` finds both of the last two, and no new key
ever adds to the mapping (dynamic templates would add a field per key and hit `index.mapping.total_fields.limit`).

Documents (the root is `dynamic: false`, so even an unknown top-level key is kept in `_source`, never refused):
- the schema's top-level fields as the event has them (an object body as its JSON in `body`, the object in
  `body_object`);
- the schema's typed keys are moved out of `resource` and `attributes` to top-level dotted fields of their own type
  (`service.name`, `host.name`, `host.id`, `log.file.path`, `log.file.record_offset`, `log.record.original`,
  `exception.*`, ...; see HOISTED): search and sort on them need no flat-field lookup, and a value against the
  schema's type (a record offset that is not a number) is refused as the invalid event it is;
- `resource` and `attributes` with the other keys (left out when none are left); a key whose value the flat type
  cannot index (a string so long that its term passes Lucene's 32 KB limit, a path nested past MAX_DEPTH) goes to
  `resource_unindexed` / `attributes_unindexed` (`enabled: false`: kept in `_source`, not searchable), and likewise a
  whole object body;
- `logferry`: the sink's content hash and source (SINK_FIELD).
`from_document` puts every key back where the event had it.

The templates carry `_meta.version` (TEMPLATE_VERSION): setup() installs a template when the node's is missing or
older. Indices created under an older template keep their mapping (a mapping cannot change in place): new daily
indices get the new template from the next UTC day on; the readers query both layouts.
"""

from datetime import date
from typing import Any

import orjson

# Bumped whenever a template's body changes; setup() compares it with the installed one.
TEMPLATE_VERSION = 2

# The sink's object in each event document: its content hash and where it came from (not part of the event).
SINK_FIELD = "logferry"

_KEYWORD = {"type": "keyword", "ignore_above": 1024}
_TEXT = {"type": "text"}

# The schema's typed keys of `resource` and `attributes`, moved to top-level fields of that name in the document.
HOISTED: dict[str, dict[str, dict[str, Any]]] = {
    "resource": {
        "service.name": _KEYWORD,
        "host.name": _KEYWORD,
        "host.id": _KEYWORD,
    },
    "attributes": {
        "log.file.path": _KEYWORD,
        "log.file.name": _KEYWORD,
        "log.file.record_offset": {"type": "long"},
        "log.iostream": _KEYWORD,
        "log.record.original": _TEXT,
        "exception.type": _KEYWORD,
        "exception.message": _TEXT,
        "exception.stacktrace": _TEXT,
        "event.timezone": _KEYWORD,
    },
}
# Document field -> (the event's object, the key in it); the reverse of HOISTED.
_HOISTED_FROM = {key: (section, key) for section, keys in HOISTED.items() for key in keys}
_FLAT_SECTIONS = ("resource", "attributes")
# A leaf whose dotted path plus value is longer is not indexed by the flat type: Lucene refuses terms over 32766 bytes
# (UTF-8, up to 4 per character), and flat_object indexes "path=value" as one term.
MAX_TERM_CHARS = 7_000
MAX_DEPTH = 100
_UNINDEXED = "_unindexed"


def events_index(prefix: str, timestamp: str) -> str:
    """The daily index of an event stamped `timestamp` (UTC): <prefix>-events-YYYY.MM.DD."""
    return f"{prefix}-events-{timestamp[0:4]}.{timestamp[5:7]}.{timestamp[8:10]}"


def events_pattern(prefix: str) -> str:
    return f"{prefix}-events-*"


def index_day(prefix: str, index: str) -> date | None:
    """The UTC day of a daily events index, None for an index of another name."""
    head = f"{prefix}-events-"
    if not index.startswith(head):
        return None
    try:
        year, month, day = index[len(head):].split(".")
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def deadletters_index(prefix: str) -> str:
    return f"{prefix}-deadletters"


def conflicts_index(prefix: str) -> str:
    return f"{prefix}-conflicts"


def _indexable(value: Any, path_length: int, depth: int) -> bool:
    """Whether the flat type can index every leaf of `value` (reached by a path of `path_length` characters)."""
    if isinstance(value, str):
        return path_length + len(value) <= MAX_TERM_CHARS
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            return False
        return all(_indexable(v, path_length + len(k) + 1, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        if depth >= MAX_DEPTH:
            return False
        return all(_indexable(v, path_length, depth + 1) for v in value)
    return path_length <= MAX_TERM_CHARS  # numbers, booleans, null


def _split(section: str, values: dict[str, Any], document: dict[str, Any]) -> None:
    """Put `values` (the event's `section`) into `document`: typed keys to their own fields, the rest in the flat
    field, what it cannot index in `<section>_unindexed`."""
    hoisted = HOISTED[section]
    flat: dict[str, Any] = {}
    unindexed: dict[str, Any] = {}
    for key, value in values.items():
        if key in hoisted:
            document[key] = value
        elif (type(value) is str and len(key) + len(value) < MAX_TERM_CHARS) or _indexable(value, len(key), 0):
            flat[key] = value
        else:
            unindexed[key] = value
    if flat:
        document[section] = flat
    else:  # the common case once the typed keys are out: no flat field to parse at all
        del document[section]
    if unindexed:
        document[section + _UNINDEXED] = unindexed


def to_document(event: dict[str, Any]) -> dict[str, Any]:
    """The document of a valid event (see the module's docstring); `event` is not changed."""
    document = dict(event)
    resource, attributes = event["resource"], event["attributes"]
    if isinstance(resource, dict):
        _split("resource", resource, document)
    if isinstance(attributes, dict):
        _split("attributes", attributes, document)
    body = event["body"]
    if type(body) is not str:
        document["body"] = orjson.dumps(body).decode()
        document["body_object" if _indexable(body, 0, 0) else "body_object" + _UNINDEXED] = body
    return document


def from_document(document: dict[str, Any]) -> dict[str, Any]:
    """The unified event a document was made from (of this layout or the one before TEMPLATE_VERSION 2)."""
    event: dict[str, Any] = {}
    moved: dict[str, dict[str, Any]] = {"resource": {}, "attributes": {}}
    body_object: Any = None
    for key, value in document.items():
        if key == SINK_FIELD:
            continue
        if key in _HOISTED_FROM:
            section, name = _HOISTED_FROM[key]
            moved[section][name] = value
        elif key in ("body_object", "body_object" + _UNINDEXED):
            body_object = value
        elif key.endswith(_UNINDEXED) and key[: -len(_UNINDEXED)] in _FLAT_SECTIONS:
            moved[key[: -len(_UNINDEXED)]].update(value)
        else:
            event[key] = value
    for section, values in moved.items():
        merged = dict(event.get(section) or {})  # an empty section is left out of the document
        merged.update(values)
        event[section] = merged
    if body_object is not None:
        event["body"] = body_object
    return event


def events_template(prefix: str, replicas: int, flat: dict[str, Any]) -> dict[str, Any]:
    """The composable index template for <prefix>-events-*; `flat` is the engine's flat field type with its options."""
    unindexed = {"type": "object", "enabled": False}
    hoisted = {key: mapping for keys in HOISTED.values() for key, mapping in keys.items()}
    return {
        "index_patterns": [events_pattern(prefix)],
        "priority": 200,
        "version": TEMPLATE_VERSION,
        "_meta": {"version": TEMPLATE_VERSION, "owner": "logferry"},
        "template": {
            "settings": {
                "number_of_shards": 1,
                "number_of_replicas": replicas,
                "refresh_interval": "1s",
                # Acknowledged means on disk: the worker commits offsets only after the bulk response.
                "index.translog.durability": "request",
            },
            "mappings": {
                "dynamic": False,
                "properties": {
                    "schema_version": {"type": "short"},
                    "event_id": {"type": "keyword"},
                    # Out of date_nanos's range (before 1970, after 2262) is still a valid event: kept, not sortable.
                    "timestamp": {"type": "date_nanos", "ignore_malformed": True},
                    "observed_timestamp": {"type": "date_nanos", "ignore_malformed": True},
                    "severity_text": _KEYWORD,
                    "severity_number": {"type": "byte"},
                    "body": _TEXT,
                    "body_object": flat,
                    "body_object" + _UNINDEXED: unindexed,
                    "trace_id": {"type": "keyword"},
                    "span_id": {"type": "keyword"},
                    "resource": flat,
                    "resource" + _UNINDEXED: unindexed,
                    "attributes": flat,
                    "attributes" + _UNINDEXED: unindexed,
                    **hoisted,
                    "format": {"type": "keyword"},
                    "input_id": {"type": "keyword"},
                    "parse_error": {"type": "boolean"},
                    "parse_error_reason": _TEXT,
                    "flags": {"type": "keyword"},
                    SINK_FIELD: {"properties": {
                        "content_hash": {"type": "keyword"}, "topic": {"type": "keyword"},
                        "partition": {"type": "integer"}, "offset": {"type": "long"},
                    }},
                },
            },
        },
    }


def _record_index_template(pattern: str, replicas: int, properties: dict[str, Any]) -> dict[str, Any]:
    """A small one-shard index of records kept for an operator (dead letters, conflicts): only `properties` mapped,
    every write durable at once."""
    return {
        "index_patterns": [pattern],
        "priority": 200,
        "version": TEMPLATE_VERSION,
        "_meta": {"version": TEMPLATE_VERSION, "owner": "logferry"},
        "template": {
            "settings": {"number_of_shards": 1, "number_of_replicas": replicas, "index.translog.durability": "request"},
            "mappings": {"dynamic": False, "properties": properties},
        },
    }


def deadletters_template(prefix: str, replicas: int) -> dict[str, Any]:
    """The template of the dead-letter index: where a record came from, why, and its bytes."""
    return _record_index_template(deadletters_index(prefix), replicas, {
        "topic": {"type": "keyword"}, "partition": {"type": "integer"}, "offset": {"type": "long"},
        "error": {"type": "text"}, "size": {"type": "long"}, "raw_text": {"type": "text", "index": False},
        "raw_base64": {"type": "binary"}, "key_base64": {"type": "binary"}, "received_at": {"type": "date"},
        "redriven_at": {"type": "date"},
    })


def conflicts_template(prefix: str, replicas: int) -> dict[str, Any]:
    """The template of the conflicts index: an event_id that arrived again with other content, both versions."""
    version = {"properties": {"event": {"type": "text", "index": False}, "topic": {"type": "keyword"},
                              "partition": {"type": "integer"}, "offset": {"type": "long"}}}
    return _record_index_template(conflicts_index(prefix), replicas, {
        "event_id": {"type": "keyword"}, "content_hash": {"type": "keyword"}, "detected_at": {"type": "date"},
        "kept": version, "rejected": version,
    })


def templates(prefix: str, replicas: int, flat: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every template the sink installs, by name."""
    return {
        f"{prefix}-events": events_template(prefix, replicas, flat),
        f"{prefix}-deadletters": deadletters_template(prefix, replicas),
        f"{prefix}-conflicts": conflicts_template(prefix, replicas),
    }


def attribute_fields(key: str) -> tuple[str, ...]:
    """The document fields an equality on attribute `key` looks in: the hoisted field (this layout) and the object
    path (indices made before TEMPLATE_VERSION 2), or the flat field's keyed path."""
    if key in HOISTED["attributes"]:
        return key, f"attributes.{key}"
    return (f"attributes.{key}",)


def resource_fields(key: str) -> tuple[str, ...]:
    """Likewise for a resource key (service.name, host.name)."""
    if key in HOISTED["resource"]:
        return key, f"resource.{key}"
    return (f"resource.{key}",)


