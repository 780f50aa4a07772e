"""The systemd unit agrees with the shipper: it restarts on failure (not on a bad config), stops with SIGTERM, and
waits long enough for the flush before SIGKILL."""

from pathlib import Path

from shipper.config import ShipperSettings
from tests.support.systemd_unit import unit_settings as parse_unit

UNIT = Path(__file__).resolve().parents[2] / "compose" / "systemd" / "logferry-shipper.service"


def unit_settings() -> dict[str, dict[str, list[str]]]:
    return parse_unit(UNIT)


def test_restarts_on_failure_but_not_on_a_bad_config() -> None:
    service = unit_settings()["Service"]
    assert service["Restart"] == ["on-failure"]
    assert service["RestartPreventExitStatus"] == ["2"]  # the CLI's exit code for a bad config


def test_notifies_systemd_and_is_watched() -> None:
    service = unit_settings()["Service"]
    assert (service["Type"], service["NotifyAccess"]) == (["notify"], ["main"])  # logferry.sdnotify sends READY=1
    assert int(service["WatchdogSec"][0]) >= 30  # the main loop sends WATCHDOG=1 every half of it


def test_stop_timeout_covers_the_flush() -> None:
    service = unit_settings()["Service"]
    assert service["KillSignal"] == ["SIGTERM"]
    assert service["KillMode"] == ["mixed"]  # SIGTERM to the shipper alone, SIGKILL to all only at the timeout
    flush = ShipperSettings().shutdown_timeout
    assert int(service["TimeoutStopSec"][0]) >= flush + 15


def test_runs_the_shipper_in_the_foreground_on_the_state_directory() -> None:
    service = unit_settings()["Service"]
    assert service["ExecStart"][0].endswith("logferry-shipper run --config /etc/logferry/shipper.toml")
    assert service["StateDirectory"] == ["logferry"]  # /var/lib/logferry, the default state_dir on Linux
    assert ShipperSettings().state_dir == "/var/lib/logferry"
    assert unit_settings()["Install"]["WantedBy"] == ["multi-user.target"]
