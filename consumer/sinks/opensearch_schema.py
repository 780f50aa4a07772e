"""How unified events look in OpenSearch: daily indices, the index templates, and the event <-> document mapping.

Documents keep the unified field names. `body` is always text: an object body is kept beside it in
`body_object` (flat_object, so arbitrary keys never explode the mapping) and its JSON goes in `body`. Dotted
keys such as `resource["service.name"]` become the object paths OpenSearch makes of them
(`resource.service.name`). Other string attributes are keywords; a document that contradicts the mapping is
rejected by OpenSearch and goes to the dead letters.
"""

from typing import Any

import orjson

_KEYWORD = {"type": "keyword", "ignore_above": 1024}


def events_index(prefix: str, timestamp: str) -> str:
    """The daily index of an event stamped `timestamp` (UTC): <prefix>-events-YYYY.MM.DD."""
    return f"{prefix}-events-{timestamp[0:4]}.{timestamp[5:7]}.{timestamp[8:10]}"


def deadletters_index(prefix: str) -> str:
    return f"{prefix}-deadletters"


def conflicts_index(prefix: str) -> str:
    return f"{prefix}-conflicts"


# The object the sink adds to each event document: its content hash and where it came from (not part of the event).
SINK_FIELD = "logferry"


def to_document(event: dict[str, Any], raw: bytes) -> bytes:
    """The document of a valid event; the raw JSON itself whenever the body is a string (the common case)."""
    body = event["body"]
    if type(body) is str:
        return raw
    document = dict(event)
    document["body"] = orjson.dumps(body).decode()
    document["body_object"] = body
    return orjson.dumps(document)


def from_document(document: dict[str, Any]) -> dict[str, Any]:
    """The unified event a document was made from."""
    if "body_object" in document or SINK_FIELD in document:
        document = dict(document)
        document.pop(SINK_FIELD, None)
        if "body_object" in document:
            document["body"] = document.pop("body_object")
    return document


def events_template(prefix: str, replicas: int) -> dict[str, Any]:
    """The composable index template for <prefix>-events-*."""
    return {
        "index_patterns": [f"{prefix}-events-*"],
        "priority": 200,
        "template": {
            "settings": {
                "number_of_shards": 1,
                "number_of_replicas": replicas,
                "refresh_interval": "1s",
                # Acknowledged means on disk: the worker commits offsets only after the bulk response.
                "index.translog.durability": "request",
                "index.mapping.total_fields.limit": 2000,
            },
            "mappings": {
                "dynamic": True,
                "dynamic_templates": [{"strings_as_keywords": {"match_mapping_type": "string", "mapping": _KEYWORD}}],
                "properties": {
                    "schema_version": {"type": "short"},
                    "event_id": {"type": "keyword"},
                    "timestamp": {"type": "date_nanos"},
                    "observed_timestamp": {"type": "date_nanos"},
                    "severity_text": {"type": "keyword"},
                    "severity_number": {"type": "byte"},
                    "body": {"type": "text"},
                    "body_object": {"type": "flat_object"},
                    "trace_id": {"type": "keyword"},
                    "span_id": {"type": "keyword"},
                    "resource": {"properties": {
                        "service": {"properties": {"name": {"type": "keyword"}}},
                        "host": {"properties": {"name": {"type": "keyword"}, "id": {"type": "keyword"}}},
                    }},
                    "attributes": {"properties": {
                        "log": {"properties": {
                            "file": {"properties": {
                                "path": {"type": "keyword"}, "name": {"type": "keyword"}, "record_offset": {"type": "long"},
                            }},
                            "iostream": {"type": "keyword"},
                            "record": {"properties": {"original": {"type": "text"}}},
                        }},
                        "exception": {"properties": {
                            "type": {"type": "keyword"}, "message": {"type": "text"}, "stacktrace": {"type": "text"},
                        }},
                        "event": {"properties": {"timezone": {"type": "keyword"}}},
                    }},
                    "format": {"type": "keyword"},
                    "input_id": {"type": "keyword"},
                    "parse_error": {"type": "boolean"},
                    "parse_error_reason": {"type": "text"},
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
        "raw_base64": {"type": "binary"}, "received_at": {"type": "date"},
    })


def conflicts_template(prefix: str, replicas: int) -> dict[str, Any]:
    """The template of the conflicts index: an event_id that arrived again with other content, both versions."""
    version = {"properties": {"event": {"type": "text", "index": False}, "topic": {"type": "keyword"},
                              "partition": {"type": "integer"}, "offset": {"type": "long"}}}
    return _record_index_template(conflicts_index(prefix), replicas, {
        "event_id": {"type": "keyword"}, "content_hash": {"type": "keyword"}, "detected_at": {"type": "date"},
        "kept": version, "rejected": version,
    })
