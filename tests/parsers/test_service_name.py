"""A configured service_name wins over a record's own `service` key (issue #11, Why 8): the record's value stays an
attribute under its own key. Without one, the record's key names the service, as before."""

from typing import Any

import orjson
import pytest

from shipper.parsers.pipeline import StreamParser
from shipper.records import StreamContext
from tests.parsers.support import OBSERVED_NS, STREAM, make_settings, split_records

HOST = {"host.name": "test-host", "host.id": "0f" * 16}
LINES = {
    "json": b'{"msg":"m","service":"from-the-line"}\n{"msg":"n","service.name":"from-the-line"}\n',
    "logfmt": b"msg=m service=from-the-line\nmsg=n service_name=from-the-line\n",
}
KEYS = ("service", "service.name", "service_name")


def _events(log_format: str, service_name: str) -> list[dict[str, Any]]:
    settings = make_settings(log_format, {"service_name": service_name})
    resource = {"service.name": service_name, **HOST} if service_name else dict(HOST)  # as shipper.files builds it
    parser = StreamParser(settings, StreamContext("app", STREAM, "/logs/app.log", "utf-8", resource, {}))
    records, _ = split_records(LINES["json" if log_format == "auto" else log_format])
    return [orjson.loads(item.value) for item in parser.feed(records, OBSERVED_NS)]


@pytest.mark.parametrize("log_format", ["json", "logfmt", "auto"])
def test_configured_service_name_wins_and_the_line_value_stays_an_attribute(log_format: str) -> None:
    events = _events(log_format, "configured")
    assert [e["resource"]["service.name"] for e in events] == ["configured", "configured"]
    assert [e["resource"]["host.id"] for e in events] == [HOST["host.id"]] * 2
    kept = [{key: e["attributes"][key] for key in KEYS if key in e["attributes"]} for e in events]
    second_key = "service.name" if log_format != "logfmt" else "service_name"
    assert kept == [{"service": "from-the-line"}, {second_key: "from-the-line"}]
    assert [e["body"] for e in events] == ["m", "n"]


@pytest.mark.parametrize("log_format", ["json", "logfmt", "auto"])
def test_without_a_configured_service_name_the_line_names_the_service(log_format: str) -> None:
    events = _events(log_format, "")
    assert [e["resource"]["service.name"] for e in events] == ["from-the-line", "from-the-line"]
    assert [e["resource"]["host.id"] for e in events] == [HOST["host.id"]] * 2
    assert all(key not in e["attributes"] for e in events for key in KEYS)
