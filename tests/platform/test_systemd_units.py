"""Every role's systemd unit: the one its role record names, running that role's command on the role's default
config (its command's own --config default), with the same restart, stop and hardening settings as the others; and
the alert evaluator's unit on its own (it stops after its last events like a worker, and systemd accepts it)."""

import shlex
import shutil
import subprocess
from importlib import import_module
from pathlib import Path

import pytest

from consumer.config import ConsumerSettings
from logferry.cli import config_path, default_config_path
from logferry.service.roles import ALERT, ROLES, RoleKey
from tests.support.systemd_unit import unit_settings

UNITS = Path(__file__).resolve().parents[2] / "compose" / "systemd"
HARDENING = (
    "NoNewPrivileges", "ProtectSystem", "PrivateTmp", "PrivateDevices", "ProtectKernelTunables",
    "ProtectKernelModules", "ProtectControlGroups", "RestrictSUIDSGID", "LockPersonality", "RestrictAddressFamilies",
)


def service_section(key: RoleKey) -> dict[str, list[str]]:
    return unit_settings(UNITS / ROLES[key].systemd_unit)["Service"]


@pytest.mark.parametrize("key", list(RoleKey))
def test_the_unit_runs_the_role_command_on_the_role_default_config(key: RoleKey) -> None:
    role = ROLES[key]
    argv = shlex.split(service_section(key)["ExecStart"][0])
    config = default_config_path(role.config_program, {}, windows=False)
    assert argv == [f"/opt/logferry/venv/bin/logferry-{role.program}", *role.command, "--config", config]


@pytest.mark.parametrize("key", list(RoleKey))
def test_the_role_default_config_is_its_command_default(key: RoleKey) -> None:
    # The unit, the Windows service and the command run without --config all read the same file.
    role = ROLES[key]
    args = import_module(f"{role.program}.cli").build_parser().parse_args(list(role.command))
    assert config_path(args) == default_config_path(role.config_program)


def test_the_evaluator_reads_its_own_config_not_the_indexers() -> None:
    assert default_config_path(ALERT.config_program, {}, windows=False) == "/etc/logferry/alerts.toml"


@pytest.mark.parametrize("key", list(RoleKey))
def test_every_unit_has_the_same_hardening_restarts_and_notification(key: RoleKey) -> None:
    reference = service_section(RoleKey.SHIPPER)
    service = service_section(key)
    for setting in (*HARDENING, "Type", "NotifyAccess", "WatchdogSec", "Restart", "RestartPreventExitStatus",
                    "KillSignal", "KillMode", "User", "Group", "StateDirectory", "StateDirectoryMode"):
        assert service.get(setting) == reference[setting], setting
    assert service["ProtectHome"][0] in ("yes", "read-only")  # only the shipper may need to read logs under /home
    assert unit_settings(UNITS / ROLES[key].systemd_unit)["Install"]["WantedBy"] == ["multi-user.target"]


def test_the_evaluator_stops_after_its_last_events_before_sigkill() -> None:
    service = service_section(RoleKey.ALERT)
    assert (service["KillSignal"], service["KillMode"]) == (["SIGTERM"], ["mixed"])
    assert int(service["TimeoutStopSec"][0]) >= ConsumerSettings().shutdown_timeout + 15
    assert service["RestartPreventExitStatus"] == ["2"]
    assert service["ProtectHome"] == ["yes"]


def test_consumer_workers_are_instances_of_a_template() -> None:
    assert ROLES[RoleKey.CONSUMER].systemd_unit == "logferry-consumer@.service"
    assert "%i" in unit_settings(UNITS / ROLES[RoleKey.CONSUMER].systemd_unit)["Unit"]["Description"][0]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_evaluator_unit(tmp_path: Path) -> None:
    unit = tmp_path / ALERT.systemd_unit
    unit.write_text((UNITS / ALERT.systemd_unit).read_text(encoding="utf-8")
                    .replace("/opt/logferry/venv/bin/logferry-consumer", "/bin/true"))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    problems = [line for line in result.stderr.splitlines() if ALERT.systemd_unit in line]
    assert not problems, result.stderr
