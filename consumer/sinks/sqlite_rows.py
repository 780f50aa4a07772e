"""An event's `events` row and how a chunk of rows is written (events, their blocks, their full-text entries).

A row is (event_id, timestamp ns, severity, service, host, trace id, message, raw JSON); the service and host are
stored as ids into their dictionary tables (consumer/sinks/sqlite_names.py), interned with the chunk. Ids are given,
not taken from SQLite: a chunk's rows get `base + position`, so that a block's id is its first row's and rows need
no block pointer (consumer/sinks/sqlite_codec.py). A row INSERT OR IGNORE skipped (a re-send) leaves its id unused.
"""

import sqlite3
from typing import Any

import orjson

from consumer.sinks.sqlite_codec import BlockEncoder
from consumer.sinks.sqlite_names import HOST_ID_OF, SERVICE_ID_OF, insert_names
from schemas.timefmt import parse_rfc3339_ns

_EXCEPTION_KEYS = ("exception.type", "exception.message", "exception.stacktrace")
_EXCEPTION_KEY_SET = frozenset(_EXCEPTION_KEYS)
_NO_TRACE = bytes(16)
_NS = 1_000_000_000
_second_cache: dict[str, int] = {}

Row = tuple[bytes, int, int, "str | None", "str | None", "bytes | None", str, bytes]
Source = tuple[str, int, int]
# INSERT_EVENTS's parameters for a chunk: ids, texts, traces; the compressed blocks (position, slots, data); the rows
# with their sources when the chunk must go row by row; the chunk's distinct services and hosts.
Packed = tuple[bytes, bytes, bytes, "list[tuple[int, int, bytes]]", "list[tuple[Any, ...]] | None", "list[str]",
               "list[str]"]

# A chunk's rows in one statement (one GIL re-take per chunk, not per row): ids and trace ids as concatenated
# 16-byte blobs, the rest as one JSON array of [timestamp, severity, service, host, has trace, message, topic,
# partition, offset] in the chunk's order. ?4 is the id of position 0.
INSERT_EVENTS = (
    "INSERT OR IGNORE INTO events (id, event_id, timestamp, severity, service, host, trace_id, source_topic, "
    "source_partition, source_offset) "
    "SELECT ?4 + key, substr(?1, key * 16 + 1, 16), value ->> 0, value ->> 1, "
    f"{SERVICE_ID_OF.format('value ->> 2')}, {HOST_ID_OF.format('value ->> 3')}, "
    "CASE WHEN value ->> 4 THEN substr(?3, key * 16 + 1, 16) END, (SELECT id FROM topics WHERE name = value ->> 6), "
    "value ->> 7, value ->> 8 FROM json_each(?2)"
)
INSERT_EVENT = (
    "INSERT OR IGNORE INTO events (id, event_id, timestamp, severity, service, host, trace_id, source_topic, "
    f"source_partition, source_offset) VALUES (?, ?, ?, ?, {SERVICE_ID_OF.format('?')}, {HOST_ID_OF.format('?')}, ?, "
    "(SELECT id FROM topics WHERE name = ?), ?, ?)"
)
INSERT_TOPICS = "INSERT OR IGNORE INTO topics (name) SELECT value FROM json_each(?)"
INSERT_TEXTS = "INSERT INTO events_fts (rowid, message) SELECT ?2 + key, value ->> 5 FROM json_each(?1)"
# After re-sends were skipped: only the rows that are there.
INSERT_TEXTS_PRESENT = (
    "INSERT INTO events_fts (rowid, message) SELECT ?2 + key, value ->> 5 FROM json_each(?1) "
    "WHERE EXISTS (SELECT 1 FROM events WHERE id = ?2 + key)"
)
INSERT_TEXT = "INSERT INTO events_fts (rowid, message) SELECT ?, ? WHERE EXISTS (SELECT 1 FROM events WHERE id = ?)"
INSERT_BLOCK = "INSERT INTO blocks (id, slots, data) VALUES (?, ?, ?)"
# A block none of whose rows is there (every one a re-send, or all expired).
DELETE_EMPTY_BLOCK = (
    "DELETE FROM blocks WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM events WHERE id >= ?1 AND id < ?1 + blocks.slots)"
)
# Rows per INSERT_EVENTS statement: a whole batch at the default batch_max_events.
INSERT_CHUNK = 20_000


def timestamp_ns(text: str) -> int:
    """Nanoseconds since the epoch of an event timestamp; the shipper's own form (`...:SS.123456789Z`) fast."""
    if len(text) == 30 and text[19] == "." and text[29] == "Z":
        head = text[:19]
        seconds = _second_cache.get(head)
        if seconds is None:
            seconds = parse_rfc3339_ns(head + "Z") // _NS
            if len(_second_cache) > 4096:
                _second_cache.clear()
            _second_cache[head] = seconds
        return seconds * _NS + int(text[20:29])
    return parse_rfc3339_ns(text)


def message_of(event: dict[str, Any]) -> str:
    """The searchable text of an event: its body (JSON text when structured) and exception fields."""
    body = event["body"]
    message = body if type(body) is str else orjson.dumps(body).decode()
    attributes = event["attributes"]
    if not _EXCEPTION_KEY_SET.isdisjoint(attributes):
        extra = [str(attributes[k]) for k in _EXCEPTION_KEYS if attributes.get(k)]
        message = "\n".join([message, *extra])
    return message


def trace_bytes(event: dict[str, Any]) -> bytes | None:
    """The 16 bytes of the event's trace id; None without one, or when it is not 32 hex digits."""
    trace = event.get("trace_id")
    if type(trace) is not str or len(trace) != 32:
        return None
    try:
        return bytes.fromhex(trace)
    except ValueError:
        return None


def event_row(event: dict[str, Any], raw: bytes) -> Row:
    """The row of a valid event (hot path); ValueError (a dead letter) when its timestamp is not RFC 3339."""
    resource = event["resource"]
    service = resource.get("service.name")
    host = resource.get("host.name")
    return (
        bytes.fromhex(event["event_id"]),
        timestamp_ns(event["timestamp"]),
        event["severity_number"],
        service if service is None or type(service) is str else str(service),
        host if host is None or type(host) is str else str(host),
        trace_bytes(event),
        message_of(event),
        raw,
    )


def pack(rows: list[Row], sources: list[Source], encoder: BlockEncoder) -> list[Packed]:
    """`rows` as INSERT_EVENTS chunks, in order, blocks compressed. SQLite's JSON functions cut text at an escaped NUL:
    a chunk with one keeps its rows, and goes row by row (INSERT_EVENT) in the same order."""
    chunks: list[Packed] = []
    for start in range(0, len(rows), INSERT_CHUNK):
        part = rows[start:start + INSERT_CHUNK]
        part_sources = sources[start:start + INSERT_CHUNK]
        texts = orjson.dumps([
            (row[1], row[2], row[3], row[4], row[5] is not None, row[6], topic, partition, offset)
            for row, (topic, partition, offset) in zip(part, part_sources, strict=True)
        ])
        ids = b"".join([row[0] for row in part])
        traces = b"".join([row[5] or _NO_TRACE for row in part])
        blocks = encoder.encode([row[7] for row in part])
        singles = None
        if b"\\u0000" in texts:
            pairs = enumerate(zip(part, part_sources, strict=True))
            singles = [(position, *row[:7], *source) for position, (row, source) in pairs]
        services = _names({row[3] for row in part})
        hosts = _names({row[4] for row in part})
        chunks.append((ids, texts, traces, blocks, singles, services, hosts))
    return chunks


def _names(names: set[str | None]) -> list[str]:
    """A chunk's distinct names without None, sorted (new names get their ids in a stable order)."""
    return sorted(name for name in names if name is not None)


def chunk_size(chunk: Packed) -> int:
    return len(chunk[0]) // 16


def insert_chunk(connection: sqlite3.Connection, chunk: Packed, base: int) -> int:
    """Write one chunk's rows, blocks and full-text entries with ids from `base`; the rows inserted (the others are
    re-sends of event_ids the index holds)."""
    ids, texts, traces, blocks, singles, services, hosts = chunk
    count = len(ids) // 16
    insert_names(connection, services, hosts)
    if singles is None:
        inserted = connection.execute(INSERT_EVENTS, (ids, texts, traces, base)).rowcount
    else:
        inserted = 0
        for position, event_id, stamp, severity, service, host, trace, _message, topic, partition, offset in singles:
            inserted += connection.execute(
                INSERT_EVENT, (base + position, event_id, stamp, severity, service, host, trace, topic, partition, offset)
            ).rowcount
    if not inserted:
        return 0
    if singles is not None:
        connection.executemany(INSERT_TEXT, [(base + s[0], s[7], base + s[0]) for s in singles])
    else:
        connection.execute(INSERT_TEXTS if inserted == count else INSERT_TEXTS_PRESENT, (texts, base))
    connection.executemany(INSERT_BLOCK, [(base + position, slots, data) for position, slots, data in blocks])
    if inserted < count:
        connection.executemany(DELETE_EMPTY_BLOCK, [(base + position,) for position, _slots, _data in blocks])
    return inserted


def insert_topics(connection: sqlite3.Connection, topics: set[str]) -> None:
    connection.execute(INSERT_TOPICS, (orjson.dumps(sorted(topics)),))

