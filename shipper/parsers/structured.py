"""Mapping a structured record (a JSON object, logfmt pairs) onto the unified event.

Well-known keys (timestamp/time/@timestamp/ts, level/severity, msg/message, trace and span ids, service,
error and stack) go to their schema fields; every other key stays as an attribute, nested values kept.
A record's `service` (or `service.name`, `service_name`) becomes the resource's service.name only when the input
has no `service_name` of its own: a configured one wins, and the record's value then stays an attribute under the
record's own key (issue #11: a line must not relabel the service it was shipped for).
A record without a string message keeps its remaining keys as an object body.

Speed: the records of one stream mostly repeat one key layout, so which keys play which role is worked
out once per layout (`_plan`) and cached; a record then costs a few pops.
"""

from typing import Any, Final

import orjson

from shipper.parsers.base import ORIGINAL, TIMEZONE, Event, ParseEnv, level_number

_ROLE_KEYS: dict[str, tuple[str, ...]] = {
    "time": ("@timestamp", "timestamp", "time", "ts", "datetime"),
    "level": ("level", "severity", "lvl", "loglevel", "log.level", "levelname"),
    "message": ("msg", "message"),
    "trace": ("trace_id", "traceId", "traceid", "trace.id", "TraceId"),
    "span": ("span_id", "spanId", "spanid", "span.id", "SpanId"),
    "service": ("service", "service.name", "service_name"),
    "error": ("error", "err", "exception"),
    "stack": ("stack", "stacktrace", "stack_trace"),
}
_HEX: Final = frozenset("0123456789abcdef")
_ERROR_PARTS = {"message": "exception.message", "msg": "exception.message", "type": "exception.type",
                "kind": "exception.type", "name": "exception.type", "stack": "exception.stacktrace",
                "stacktrace": "exception.stacktrace", "stack_trace": "exception.stacktrace"}
_PLAN_LIMIT: Final = 1024
_CACHE_LIMIT: Final = 1024

# (time key, level key, message key, other (key, role) pairs) for one key layout
Plan = tuple[str | None, str | None, str | None, tuple[tuple[str, str], ...]]
_plans: Final[dict[tuple[str, ...], Plan]] = {}


def _plan(keys: tuple[str, ...]) -> Plan:
    present = set(keys)
    chosen: dict[str, str] = {}
    for role, names in _ROLE_KEYS.items():
        for name in names:  # the first listed name of a role wins; other ones stay attributes
            if name in present:
                chosen[role] = name
                break
    others = tuple((key, role) for role, key in chosen.items() if role not in ("time", "level", "message"))
    plan = (chosen.get("time"), chosen.get("level"), chosen.get("message"), others)
    if len(_plans) >= _PLAN_LIMIT:
        _plans.clear()
    _plans[keys] = plan
    return plan


def structured_event(env: ParseEnv, fields: dict[str, Any], text: str) -> Event:
    """The event for a record's key/value `fields` (consumed: they become the attributes) whose raw text is `text`.
    `attributes` is its last key (the parsers' contract with the encoder, shipper.parsers.base)."""
    keys = tuple(fields)
    plan = _plans.get(keys) or _plan(keys)
    time_key, level_key, message_key, others = plan
    clock = env.clock
    timestamp: str | None = None
    severity_text: str | None = None
    severity_number = 0
    unparsed = False
    zone_assumed = False
    if time_key is not None:
        value = fields[time_key]
        fast = clock.iso_fast(value) if type(value) is str else None
        if fast is not None:
            timestamp = fast
            del fields[time_key]
        else:
            stamp = clock.iso(value) if type(value) is str else _number_time(env, value)
            if stamp is None:
                unparsed = True
            else:
                timestamp, zone_assumed = stamp
                del fields[time_key]
    if level_key is not None:
        value = fields[level_key]
        if type(value) is str:
            severity_text = value[:64]
            severity_number = level_number(value)
            del fields[level_key]
        elif type(value) is int:
            severity_text = str(value)  # numeric scales differ (pino, Python): kept as written, number unknown
            del fields[level_key]
    message = None
    if message_key is not None:
        value = fields[message_key]
        if type(value) is str:
            message = value
            del fields[message_key]
    # trace and span ids, resource: keys of the event between the severity and the body
    placed: dict[str, Any] = {}
    extra = _others(env, fields, others, placed) if others else None
    if timestamp is None:
        timestamp = clock.observed
    if message is None:
        body: Any = fields
        attributes = extra or {}
    else:
        body = message
        attributes = fields
        if extra:
            attributes.update(extra)
    if zone_assumed:
        attributes[TIMEZONE] = clock.zone_name
    attributes[ORIGINAL] = text
    # built at once in the usual shapes (the same keys in the same order as the general case below)
    if not unparsed:
        if not placed:
            return {"timestamp": timestamp, "severity_text": severity_text, "severity_number": severity_number,
                    "body": body, "attributes": attributes}
        if len(placed) == 1 and "resource" in placed:
            return {"timestamp": timestamp, "severity_text": severity_text, "severity_number": severity_number,
                    "resource": placed["resource"], "body": body, "attributes": attributes}
    event: Event = {"timestamp": timestamp, "severity_text": severity_text, "severity_number": severity_number}
    if unparsed:
        event["flags"] = ["timestamp_unparsed"]
    event.update(placed)
    event["body"] = body
    event["attributes"] = attributes
    return event


def _others(env: ParseEnv, fields: dict[str, Any], others: tuple[tuple[str, str], ...], event: dict[str, Any]) -> dict[str, Any]:
    """Trace and span ids, service, error and stack: moved from `fields` into `event` (the event's keys between its
    severity and its body) or into the returned derived attributes."""
    extra: dict[str, Any] = {}
    for key, role in others:
        value = fields[key]
        if role in ("trace", "span"):
            if not isinstance(value, str):
                continue
            lowered = value.lower()
            if len(lowered) != (32 if role == "trace" else 16) or not _HEX.issuperset(lowered) or lowered.strip("0") == "":
                continue
            event["trace_id" if role == "trace" else "span_id"] = lowered
        elif role == "service":
            if not isinstance(value, str) or not value or env.settings.service_name:
                continue  # a configured service_name wins: the record's value stays an attribute under its own key
            resources = env.service_resources
            resource = resources.get(value)
            if resource is None:
                if len(resources) >= _CACHE_LIMIT:
                    resources.clear()
                resource = resources[value] = orjson.Fragment(orjson.dumps({**env.resource, "service.name": value}))
            event["resource"] = resource
        elif role == "error":
            if isinstance(value, dict):
                for part, target in _ERROR_PARTS.items():
                    if isinstance(value.get(part), str) and target not in extra:
                        extra[target] = value[part]
                continue  # the object stays as an attribute too: it may hold more detail
            if not isinstance(value, str):
                continue
            extra["exception.message"] = value
        elif role == "stack":
            if not isinstance(value, str):
                continue
            extra["exception.stacktrace"] = value
        del fields[key]
    return extra


def _number_time(env: ParseEnv, value: Any) -> tuple[str, bool] | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        stamp = env.clock.epoch(value)
        return None if stamp is None else (stamp, False)
    return None
