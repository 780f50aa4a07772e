"""Events larger than the broker accepts: truncated and flagged, never dropped."""

from typing import Any

import orjson

_TRUNCATABLE = ("log.record.original", "exception.stacktrace", "exception.message")


def shrink_event(value: bytes, limit: int) -> bytes:
    """The event in `value` cut down to at most `limit` bytes, with "truncated" in its flags.

    Long strings (body, the original record, stack traces) are cut first; an object body that is still too big
    becomes its JSON text, cut. Input that is not an event JSON object is wrapped as a cut string body.
    """
    try:
        event: Any = orjson.loads(value)
    except orjson.JSONDecodeError:
        event = None
    if not isinstance(event, dict):
        event = {"body": value[: limit // 2].decode("utf-8", "replace"), "flags": ["truncated"]}
        return orjson.dumps(event)[:limit]
    flags = event.get("flags")
    if not isinstance(flags, list):
        flags = []
    if "truncated" not in flags:
        flags.append("truncated")
    event["flags"] = flags
    attributes = event.get("attributes")
    if not isinstance(attributes, dict):
        attributes = {}
        event["attributes"] = attributes
    if not isinstance(event.get("body"), str):
        event["body"] = orjson.dumps(event.get("body")).decode()
    encoded = orjson.dumps(event)
    budget = limit
    while len(encoded) > limit:
        excess = len(encoded) - limit
        longest_key, longest = "body", len(event["body"])
        for key in _TRUNCATABLE:
            text = attributes.get(key)
            if isinstance(text, str) and len(text) > longest:
                longest_key, longest = key, len(text)
        if longest == 0:
            # Nothing left to cut: drop the attributes except the file coordinates.
            keep = ("log.file.path", "log.file.name", "log.file.record_offset")
            event["attributes"] = {k: v for k, v in attributes.items() if k in keep}
            encoded = orjson.dumps(event)
            if len(encoded) > limit:
                raise ValueError(f"an event cannot be made smaller than {len(encoded)} bytes")
            break
        # Escaped characters take more room in JSON than in the string; cut at least half of what is missing.
        keep_chars = max(0, longest - max(excess, longest // 8, 16))
        if longest_key == "body":
            event["body"] = event["body"][:keep_chars]
        else:
            attributes[longest_key] = attributes[longest_key][:keep_chars]
        encoded = orjson.dumps(event)
        budget -= 1
    return encoded
