"""The adversarial lines of issue #11 (Why 1 and 5) through the real shipper process to a real broker: the line and
every line after it arrive (parsed, or flagged), and SIGTERM is honoured within shutdown_timeout. And a line's own
`service` key does not relabel the input's configured service (Why 8).

On the code before the change the X-Forwarded-For line stopped the shipper for good (exponential backtracking with
the GIL held: nothing after it shipped and SIGTERM was ignored), and the 320 KB logfmt line took minutes.
"""

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hostile.adversarial import XFF_LINE, logfmt_line
from tests.shipper.support import shipped, wait_for_count, write_lines

ROOT = Path(__file__).resolve().parents[2]
SHUTDOWN_TIMEOUT_S = 10.0


def _config(tmp_path: Path, bootstrap: str, topic: str, *, log_format: str, max_line_bytes: int, service_name: str) -> Path:
    config = tmp_path / "shipper.toml"
    config.write_text(f"""
[shipper]
state_dir = "{tmp_path / "state"}"
host_id = "test-host"
rescan_interval = 0.3
checkpoint_interval = 0.3
log_format = "json"
shutdown_timeout = {SHUTDOWN_TIMEOUT_S}
max_line_bytes = {max_line_bytes}

[kafka]
bootstrap_servers = "{bootstrap}"
topic = "{topic}"

[[inputs]]
id = "app"
paths = ["{tmp_path / "logs" / "*.log"}"]
format = "{log_format}"
service_name = "{service_name}"
""")
    return config


class Shipper:
    """`python -m shipper run` as a child process; stopped (killed if need be) by the fixture whatever happens."""

    def __init__(self, config: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "shipper", "run", "--config", str(config)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )

    def terminate(self) -> tuple[int, float, str]:
        """SIGTERM; (exit code, seconds until it exited, its output)."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        output, _ = self.process.communicate(timeout=SHUTDOWN_TIMEOUT_S + 30)
        return self.process.returncode, time.monotonic() - started, output.decode(errors="replace")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate(timeout=30)


@pytest.fixture
def start_shipper() -> Iterator[Any]:
    started: list[Shipper] = []

    def start(config: Path) -> Shipper:
        shipper = Shipper(config)
        started.append(shipper)
        return shipper

    yield start
    for shipper in started:
        shipper.kill()


def _ship(tmp_path: Path, bootstrap: str, topic: str, start_shipper: Any, *, log_format: str, first: str,
          normal: list[str], max_line_bytes: int = 1_048_576, service_name: str = "") -> list[dict[str, Any]]:
    """Ship a file of `first` then `normal` lines; SIGTERM once all arrived; the events, checked for a clean stop."""
    (tmp_path / "logs").mkdir()
    write_lines(tmp_path / "logs" / "app.log", [first, *normal])
    config = _config(tmp_path, bootstrap, topic, log_format=log_format, max_line_bytes=max_line_bytes, service_name=service_name)
    shipper = start_shipper(config)
    wait_for_count(bootstrap, topic, 1 + len(normal), timeout=90)
    code, seconds, output = shipper.terminate()
    assert code == 0, output[-3000:]
    assert seconds <= SHUTDOWN_TIMEOUT_S, f"SIGTERM took {seconds:.1f} s"
    assert "Traceback" not in output, output[-3000:]
    events = sorted(shipped(bootstrap, topic), key=lambda event: event["attributes"]["log.file.record_offset"])
    assert len(events) == 1 + len(normal)
    return events


def _original(event: dict[str, Any]) -> str:
    return str(event["attributes"].get("log.record.original", event["body"]))


@pytest.mark.parametrize("log_format", ["nginx", "auto"])
def test_the_x_forwarded_for_line_ships_and_so_does_everything_after_it(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, start_shipper: Any, log_format: str
) -> None:
    normal = [f'10.0.0.{i} - - [01/May/2024:02:00:{i:02d} +0000] "GET /n/{i} HTTP/1.1" 200 {i} "-" "curl/8.5.0"'
              for i in range(20)]
    events = _ship(tmp_path, kafka_bootstrap, kafka_topic, start_shipper, log_format=log_format, first=XFF_LINE, normal=normal)
    adversarial = events[0]
    assert _original(adversarial) == XFF_LINE
    assert adversarial["parse_error"] or adversarial["format"] == "nginx"
    assert [e["body"] for e in events[1:]] == normal
    assert {e["format"] for e in events[1:]} == {"nginx"} and not any(e["parse_error"] for e in events[1:])


@pytest.mark.parametrize("case", [("logfmt", 1_048_576), ("auto", 65_536)], ids=["logfmt-whole", "auto-cut"])
def test_the_320_kb_logfmt_line_ships_and_so_does_everything_after_it(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, start_shipper: Any, case: tuple[str, int]
) -> None:
    log_format, max_line_bytes = case
    long_line = logfmt_line(320_000)
    normal = [f'time="2026-03-14T11:00:{i:02d}Z" level=info msg="Stopping" component=fetcher cachehit' for i in range(20)]
    events = _ship(tmp_path, kafka_bootstrap, kafka_topic, start_shipper, log_format=log_format, first=long_line,
                   normal=normal, max_line_bytes=max_line_bytes)
    first = events[0]
    if max_line_bytes > len(long_line):
        assert first["format"] == "logfmt" and not first["parse_error"]
        assert first["body"] == {"a": "1", "b": "2", "x": True}
        assert _original(first) == long_line
    else:  # cut at max_line_bytes: flagged, its bytes so far kept
        assert "truncated" in first["flags"]
        assert long_line.startswith(_original(first)) and len(_original(first)) <= max_line_bytes
    for i, event in enumerate(events[1:]):
        assert event["format"] == "logfmt" and not event["parse_error"]
        assert event["timestamp"] == f"2026-03-14T11:00:{i:02d}.000000000Z"
        assert event["severity_text"] == "info" and event["body"] == "Stopping"
        assert event["attributes"]["cachehit"] is True


@pytest.mark.parametrize("log_format", ["json", "logfmt"])
def test_a_line_cannot_relabel_the_configured_service(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, start_shipper: Any, log_format: str
) -> None:
    if log_format == "json":
        lines = ['{"msg":"first","service":"forged"}', *(f'{{"msg":"n{i}","service.name":"forged"}}' for i in range(5))]
    else:
        lines = ["msg=first service=forged", *(f"msg=n{i} service=forged" for i in range(5))]
    events = _ship(tmp_path, kafka_bootstrap, kafka_topic, start_shipper, log_format=log_format, first=lines[0],
                   normal=lines[1:], service_name="billing")
    assert [e["body"] for e in events] == ["first", *(f"n{i}" for i in range(5))]
    assert {e["resource"]["service.name"] for e in events} == {"billing"}
    assert {e["resource"]["host.id"] for e in events} == {events[0]["resource"]["host.id"]}
    kept = [e["attributes"].get("service", e["attributes"].get("service.name")) for e in events]
    assert kept == ["forged"] * 6
