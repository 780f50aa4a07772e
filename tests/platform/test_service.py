"""The Windows services' platform-independent parts, on Linux: supervision and stop progress, names and paths,
the service command line, and the `service` command's answer off Windows (shipper and consumer)."""

import argparse
import threading
import time

import pytest

from logferry.service import scm, spec
from logferry.service.roles import ALERT, CONSUMER, SHIPPER
from logferry.service.supervise import supervise
from shipper.platform.stop import StopController
from shipper.service import cli


def test_stop_progress_is_reported_while_the_shipper_flushes() -> None:
    controller = StopController()
    reports: list[float] = []

    def body(stop_event: threading.Event) -> int:
        stop_event.wait(10)
        time.sleep(0.35)  # the flush
        return 0

    threading.Timer(0.1, controller.request_stop).start()
    code = supervise(controller.stop_requested, body, lambda: reports.append(time.monotonic()), interval=0.05)
    assert code == 0
    assert len(reports) >= 3, "the SCM would have seen no progress during the flush"


def test_no_progress_reports_before_a_stop_is_requested() -> None:
    controller = StopController()
    reports: list[int] = []

    def body(stop_event: threading.Event) -> int:
        time.sleep(0.2)
        controller.request_stop()
        return 0

    assert supervise(controller.stop_requested, body, lambda: reports.append(1), interval=0.05) == 0
    assert reports == []


def test_a_shipper_that_ends_by_itself_is_a_failure_so_recovery_restarts_it() -> None:
    assert supervise(threading.Event(), lambda stop: 0, lambda: None, interval=0.05) == 1
    assert supervise(threading.Event(), lambda stop: 2, lambda: None, interval=0.05) == 2


def test_a_shipper_that_raises_is_a_failure() -> None:
    def body(stop_event: threading.Event) -> int:
        raise RuntimeError("boom")

    assert supervise(threading.Event(), body, lambda: None, interval=0.05) == 1


def test_program_data_paths() -> None:
    environ = {"PROGRAMDATA": "D:\\Data"}
    assert spec.program_data_dir(environ) == "D:\\Data\\logferry"
    assert spec.service_config_path(SHIPPER, environ) == "D:\\Data\\logferry\\shipper.toml"
    assert spec.service_config_path(CONSUMER, environ) == "D:\\Data\\logferry\\consumer.toml"
    assert spec.service_config_path(ALERT, environ) == "D:\\Data\\logferry\\alerts.toml"
    assert spec.log_dir(environ) == "D:\\Data\\logferry\\logs"
    assert spec.program_data_dir({}) == "C:\\ProgramData\\logferry"


def test_a_service_reads_the_config_the_cli_would_read() -> None:
    # One default for both: $LOGFERRY_CONFIG first, as for `python -m consumer run` without --config.
    from logferry.cli import default_config_path

    environ = {"PROGRAMDATA": "D:\\Data", "LOGFERRY_CONFIG": "E:\\conf\\mine.toml"}
    assert spec.service_config_path(CONSUMER, environ) == "E:\\conf\\mine.toml"
    for role in (SHIPPER, CONSUMER, ALERT):
        environ = {"PROGRAMDATA": "D:\\Data"}
        assert spec.service_config_path(role, environ) == default_config_path(role.config_program, environ,
                                                                             windows=True)


def test_preshutdown_covers_the_flush() -> None:
    assert spec.preshutdown_timeout_ms(30.0) == 45_000


def test_host_command_line_quotes_paths_with_spaces() -> None:
    line = spec.host_command_line(
        "C:\\Program Files\\Python312\\python.exe", ["C:\\Program Files\\logferry"], CONSUMER, "logferry-consumer-2",
        "C:\\Prog Data\\a.toml",
    )
    assert line.startswith('"C:\\Program Files\\Python312\\python.exe" -c "import runpy, site; ')
    assert line.endswith(' --role consumer --name logferry-consumer-2 --config "C:\\Prog Data\\a.toml"')
    assert "logferry.service.host" in line


def test_service_command_off_windows_says_where_to_look(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    cli.add_service_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["service", "status"])
    assert cli.run_service_command(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "systemd" in err


def test_service_command_rejects_unknown_actions() -> None:
    parser = argparse.ArgumentParser()
    cli.add_service_commands(parser.add_subparsers(dest="command"))
    with pytest.raises(SystemExit) as raised:
        parser.parse_args(["service", "restart-everything"])
    assert raised.value.code == 2


class ServiceControlError(Exception):
    """Shaped like pywintypes.error, which is what pywin32's service calls raise (pywin32 is not on Linux)."""

    def __init__(self, winerror: int, strerror: str) -> None:
        super().__init__(winerror, strerror)
        self.winerror = winerror
        self.strerror = strerror


@pytest.mark.parametrize(
    ("winerror", "expected"),
    [
        (5, "access denied: run this from an elevated (Run as administrator) prompt"),
        (1060, "the service is not installed"),
        (1073, "a service of that name is already installed"),
        (1053, "The service did not respond in time. (winerror 1053)"),  # not one we know: pywin32's text
    ],
)
def test_service_control_errors_become_one_sentence(winerror: int, expected: str) -> None:
    error = ServiceControlError(winerror, "The service did not respond in time.")
    assert scm.service_error_message(error) == expected


def test_other_errors_are_not_service_control_errors() -> None:
    assert scm.service_error_message(ValueError("not from the SCM")) is None


@pytest.mark.parametrize(
    ("argv", "unit"),
    [
        (["service", "status"], "compose/systemd/logferry-consumer@.service"),
        (["service", "install", "--name", "logferry-consumer-2"], "compose/systemd/logferry-consumer@.service"),
        (["service", "status", "--role", "alert"], "compose/systemd/logferry-alert.service"),
    ],
)
def test_consumer_service_command_off_windows_names_its_unit(
    argv: list[str], unit: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from consumer.cli import main

    assert main(argv) == 2  # before any config is read: there is none here
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.endswith(unit), err


def test_consumer_service_roles_are_the_worker_and_the_alert_evaluator(capsys: pytest.CaptureFixture[str]) -> None:
    from consumer.cli import main

    with pytest.raises(SystemExit) as raised:
        main(["service", "status", "--role", "shipper"])
    assert raised.value.code == 2
    assert "invalid choice: 'shipper'" in capsys.readouterr().err


def test_shipper_service_has_no_role_option(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    cli.add_service_commands(parser.add_subparsers(dest="command"))
    with pytest.raises(SystemExit):
        parser.parse_args(["service", "status", "--role", "consumer"])
    assert "unrecognized arguments: --role consumer" in capsys.readouterr().err


def test_instances_have_their_own_display_names_and_log_files() -> None:
    assert SHIPPER.log_file_for("logferry") == "shipper.log"  # where earlier versions logged
    assert CONSUMER.log_file_for("logferry-consumer") == "consumer.log"
    assert CONSUMER.log_file_for("logferry-consumer-2") == "logferry-consumer-2.log"
    assert CONSUMER.display_name_for("logferry-consumer-2") == "logferry consumer (logferry-consumer-2)"
    assert ALERT.command_line("C:\\c.toml") == "python -m consumer alert run --config C:\\c.toml"
