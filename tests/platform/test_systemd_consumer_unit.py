"""The consumer's template unit agrees with the consumer: several instances share the host's worker indexes, restart
on failure (not on a bad config), stop with SIGTERM and wait for the last batch before SIGKILL, and the state
directory it creates is where the SQLite index lives by default."""

import shutil
import subprocess
from pathlib import Path

import pytest

from consumer.config import ConsumerSettings
from consumer.sinks.sqlite_settings import SqliteSettings
from tests.support.systemd_unit import unit_settings as parse_unit

UNIT = Path(__file__).resolve().parents[2] / "compose" / "systemd" / "logferry-consumer@.service"


def unit_settings() -> dict[str, dict[str, list[str]]]:
    return parse_unit(UNIT)


def test_restarts_on_failure_but_not_on_a_bad_config() -> None:
    service = unit_settings()["Service"]
    assert service["Restart"] == ["on-failure"]
    assert service["RestartPreventExitStatus"] == ["2"]


def test_notifies_systemd_and_is_watched() -> None:
    service = unit_settings()["Service"]
    assert (service["Type"], service["NotifyAccess"]) == (["notify"], ["main"])
    assert int(service["WatchdogSec"][0]) >= 30


def test_stop_timeout_covers_the_last_batch() -> None:
    service = unit_settings()["Service"]
    assert (service["KillSignal"], service["KillMode"]) == (["SIGTERM"], ["mixed"])
    assert int(service["TimeoutStopSec"][0]) >= ConsumerSettings().shutdown_timeout + 15


def test_every_instance_runs_the_same_config_on_the_state_directory() -> None:
    service = unit_settings()["Service"]
    assert service["ExecStart"][0].endswith("logferry-consumer run --config /etc/logferry/consumer.toml")
    assert service["StateDirectory"] == ["logferry"]
    assert Path(SqliteSettings().path).parent == Path("/var/lib/logferry")
    # Instances tell each other apart by the worker-index locks, not by anything in the unit.
    assert ConsumerSettings().worker_index == -1


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    unit = tmp_path / "logferry-consumer@1.service"
    unit.write_text(UNIT.read_text(encoding="utf-8").replace("/opt/logferry/venv/bin/logferry-consumer", "/bin/true"))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    problems = [line for line in result.stderr.splitlines() if "logferry-consumer" in line]
    assert not problems, result.stderr
