"""The bundled sample-logs/ (what `make demo` ships) are parsed by format = "auto" without a parse error."""

from pathlib import Path

import pytest

from schemas.validate import schema_errors
from tests.parsers.support import make_settings, parse_bytes

SAMPLES = Path(__file__).resolve().parent.parent.parent / "sample-logs"
EXPECTED_FORMAT = {
    "app/service.json.log": {"json"}, "nginx/access.log": {"nginx"}, "apache/error.log": {"apache_error"},
    "iis/u_ex240501.log": {"iis"}, "syslog/messages.log": {"syslog"}, "syslog/rfc5424.log": {"syslog"},
    "go/server.log": {"golog"}, "python/worker.log": {"python"}, "java/order-service.log": {"java"},
    "containers/cri.log": {"cri"}, "containers/docker.log": {"docker"}, "logfmt/scheduler.log": {"logfmt"},
}


def test_every_sample_file_is_listed() -> None:
    assert sorted(str(p.relative_to(SAMPLES)) for p in SAMPLES.glob("**/*.log")) == sorted(EXPECTED_FORMAT)


@pytest.mark.parametrize("name", sorted(EXPECTED_FORMAT))
def test_sample_is_recognised(name: str) -> None:
    events = parse_bytes((SAMPLES / name).read_bytes(), make_settings("auto"), path=str(SAMPLES / name))
    assert events
    assert {e["format"] for e in events} == EXPECTED_FORMAT[name]
    for event in events:
        assert not event["parse_error"], event
        assert schema_errors(event) == []


def test_samples_contain_errors_for_the_demo_search() -> None:
    texts = [p.read_bytes().lower() for p in SAMPLES.glob("**/*.log")]
    assert sum(b"error" in text for text in texts) >= 5
