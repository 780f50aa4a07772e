"""The role-independent pieces of the Windows services, on Linux: the stop routing a role's command uses inside the
service host, the size-bounded log file, and the role records (one per role, each naming a command that exists)."""

import argparse
import threading
from pathlib import Path

import pytest

from logferry.service import stopping
from logferry.service.body import resolve
from logferry.service.roles import ROLES, RoleKey, roles_of
from logferry.service.rotating import RotatingLog


def test_outside_a_service_host_commands_install_their_own_signal_handlers() -> None:
    assert stopping.route_service_stop(lambda: None) is False


def test_inside_a_service_host_the_stop_control_reaches_the_command() -> None:
    stop = threading.Event()
    asked = threading.Event()
    with stopping.hosted(stop):
        assert stopping.route_service_stop(asked.set) is True
        assert not asked.wait(0.2)
        stop.set()
        assert asked.wait(10)
    assert stopping.route_service_stop(lambda: None) is False  # the host's registration ends with it


def test_a_stop_before_the_command_routes_it_still_reaches_it() -> None:
    stop = threading.Event()
    stop.set()
    asked = threading.Event()
    with stopping.hosted(stop):
        stopping.route_service_stop(asked.set)
        assert asked.wait(10)


def test_the_service_log_rotates_and_keeps_a_bounded_number_of_files(tmp_path: Path) -> None:
    path = tmp_path / "consumer.log"
    log = RotatingLog(str(path), max_bytes=1000, backups=2)
    lines = [f"line {i:04d} " + "x" * 90 + "\n" for i in range(50)]
    for line in lines:
        log.write(line)
    log.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["consumer.log", "consumer.log.1", "consumer.log.2"]
    assert all(p.stat().st_size <= 1000 for p in tmp_path.iterdir())
    kept = "".join((tmp_path / name).read_text() for name in ("consumer.log.2", "consumer.log.1", "consumer.log"))
    assert kept.endswith("".join(lines[-20:]))  # the newest lines, in order, whole
    assert not log.isatty()


def test_the_service_log_continues_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_text("before\n")
    log = RotatingLog(str(path))
    log.write("after\n")
    log.close()
    assert path.read_text() == "before\nafter\n"


@pytest.mark.parametrize("key", list(RoleKey))
def test_every_role_names_a_main_and_settings_that_exist(key: RoleKey) -> None:
    role = ROLES[key]
    assert callable(resolve(role.main))
    if role.settings is not None:
        assert callable(resolve(role.settings))
    assert (Path(__file__).resolve().parents[2] / "compose" / "systemd" / role.systemd_unit).is_file()


def test_the_consumer_installs_workers_and_the_alert_evaluator() -> None:
    assert [role.key for role in roles_of("consumer")] == [RoleKey.CONSUMER, RoleKey.ALERT]
    assert [role.key for role in roles_of("shipper")] == [RoleKey.SHIPPER]
    assert len({role.service_name for role in ROLES.values()}) == len(ROLES)


@pytest.mark.parametrize("key", [RoleKey.SHIPPER, RoleKey.CONSUMER])
def test_a_role_command_is_one_its_program_parses(key: RoleKey) -> None:
    role = ROLES[key]
    from importlib import import_module

    parser: argparse.ArgumentParser = import_module(f"{role.program}.cli").build_parser()
    args = parser.parse_args([*role.command, "--config", "x.toml"])
    assert args.command == role.command[0] and args.config == "x.toml"


def test_the_host_needs_a_role_except_under_the_shipper_module_name_of_earlier_versions() -> None:
    from logferry.service.host import parse_args

    args = parse_args(["--role", "consumer", "--name", "logferry-consumer-2", "--config", "c.toml"])
    assert (args.role, args.name, args.config) == ("consumer", "logferry-consumer-2", "c.toml")
    # `python -m shipper.service.host --name logferry --config F`, as services installed before the roles were shared
    assert parse_args(["--name", "logferry", "--config", "c.toml"], RoleKey.SHIPPER).role == "shipper"
    with pytest.raises(SystemExit):
        parse_args(["--name", "logferry", "--config", "c.toml"])
