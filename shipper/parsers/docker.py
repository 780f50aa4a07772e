"""docker: the json-file logging driver, `{"log":"text\\n","stream":"stdout","time":"2019-...Z"}`.
A `log` value without the trailing newline is a partial piece (docker splits lines at 16 KiB)."""

from typing import Any

import orjson

from shipper.parsers.base import ORIGINAL, Event, Parser, timestamp_unparsed
from shipper.parsers.declaration import Format, Shape

_loads = orjson.loads


class DockerParser(Parser):
    """Docker json-file records; partial pieces are joined with the one that ends the line."""

    name = "docker"
    has_partials = True

    def parse(self, text: str) -> Event | None:
        if text[:1] != "{":
            return None
        try:
            value = _loads(text)
        except orjson.JSONDecodeError:
            return None
        if type(value) is not dict or type(value.get("log")) is not str or type(value.get("time")) is not str:
            return None
        log: str = value.pop("log")
        stamp = self.clock.iso_fast(value["time"])
        if stamp is None:
            parsed = self.clock.iso(value["time"])
            stamp = "" if parsed is None else parsed[0]  # "": not a time, observed time, flagged
        if stamp:
            del value["time"]
        complete = log.endswith("\n")
        attributes: dict[str, Any] = {}
        stream = value.pop("stream", None)
        if stream in ("stdout", "stderr"):
            attributes["log.iostream"] = stream
        elif stream is not None:
            value["stream"] = stream
        for key, item in value.items():  # attrs (labels, env) when the driver was told to add them
            attributes["docker." + key] = item
        attributes[ORIGINAL] = text
        event = {
            "timestamp": stamp,
            "severity_text": None,
            "severity_number": 0,
            "body": log[:-1] if complete else log,
            "attributes": attributes,
            "_partial": not complete,
        }
        return event if stamp else timestamp_unparsed(event, self.clock)

    def reject_reason(self, text: str) -> str:
        try:
            value = _loads(text)
        except orjson.JSONDecodeError as error:
            return f"invalid JSON: {error}"
        if type(value) is dict and type(value.get("log")) is str and type(value.get("time")) is str:
            return f"the docker record's time {value['time'][:64]!r} is not an RFC 3339 timestamp"
        return "the line is not a docker json-file record ({\"log\": ..., \"stream\": ..., \"time\": ...})"


FORMAT: Format = Format(DockerParser, probes={Shape.OBJECT: 20})
