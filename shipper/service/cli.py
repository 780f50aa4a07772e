"""`shipper service install|uninstall|start|stop|status [--config FILE] [--name NAME]` (Windows).

Exit codes: 0 done (status: running), 1 the service control manager refused (one line), 2 bad config or usage,
3 status: installed but not running, 4 status: not installed.
"""

import argparse
import os
import sys
import time
from pathlib import Path

from logferry.errors import ConfigError
from shipper.service import scm, spec

ACTIONS = ("install", "uninstall", "start", "stop", "status")


def add_service_arguments(parser: argparse.ArgumentParser) -> None:
    """The `service` subcommand's arguments (for shipper.cli.EXTRA_COMMANDS)."""
    parser.description = "Install and control the logferry Windows service."
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument(
        "--config", help="TOML config file (default %%ProgramData%%\\logferry\\shipper.toml); install records it"
    )
    parser.add_argument("--name", default=spec.SERVICE_NAME, help="service name (default %(default)s)")


def add_service_commands(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the `service` subcommand to the shipper's subcommands."""
    add_service_arguments(subparsers.add_parser("service", help="install and control the Windows service"))


def main(argv: list[str] | None = None) -> int:
    """`python -m shipper.service ACTION ...`: the same as `python -m shipper service ACTION ...`."""
    parser = argparse.ArgumentParser(prog="python -m shipper.service")
    add_service_arguments(parser)
    return run_service_command(parser.parse_args(argv))


def run_service_command(args: argparse.Namespace) -> int:
    if sys.platform != "win32":
        print(
            "service error: the service commands are for Windows; on Linux use compose/systemd/logferry-shipper.service",
            file=sys.stderr,
        )
        return 2
    config_path = os.path.abspath(args.config or spec.default_config_path(os.environ))
    try:
        if args.action == "install":
            return install(args.name, config_path)
        if args.action == "uninstall":
            return uninstall(args.name)
        if args.action == "start":
            return start(args.name)
        if args.action == "stop":
            return stop(args.name, config_path)
        return status(args.name)
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        message = scm.service_error_message(error)
        if message is None and not isinstance(error, OSError):
            raise
        print(f"service error: {message or error}", file=sys.stderr)
        return 1


def install(name: str, config_path: str) -> int:
    from shipper.config import load_config
    from shipper.platform.windows import acl

    config = load_config(config_path)  # a bad config fails here, not at the first start
    home = spec.program_data_dir(os.environ)
    acl.make_private_directory(home, name)
    for directory in (config.shipper.state_dir, spec.log_dir(os.environ)):
        if not Path(directory).resolve().is_relative_to(Path(home).resolve()):
            acl.make_private_directory(directory, name)
        else:
            os.makedirs(directory, exist_ok=True)  # inherits the private ACL of %ProgramData%\logferry
    python, site_dirs = service_python()
    scm.create_service(
        name,
        spec.DISPLAY_NAME if name == spec.SERVICE_NAME else f"{spec.DISPLAY_NAME} ({name})",
        spec.DESCRIPTION,
        spec.host_command_line(python, site_dirs, name, config_path),
        spec.preshutdown_timeout_ms(config.shipper.shutdown_timeout),
    )
    try:
        scm.configure_service_recovery(name, spec.RESTART_DELAYS_MS, spec.RESET_FAILURES_AFTER_S)
    except BaseException:
        scm.delete_service(name)  # no half-configured service without recovery actions
        raise
    print(f"installed service {name!r} (automatic start, restarts on failure) with config {config_path}")
    print(f"start it with: python -m shipper service start --name {name}")
    return 0


def service_python() -> tuple[str, list[str]]:
    """The real python.exe and the directories the service must add: the checkout or site-packages holding
    `shipper`, and the venv's site-packages when running from a venv."""
    import site

    import shipper

    dirs = [str(Path(shipper.__file__).resolve().parents[1])]
    python = sys.executable
    if sys.prefix != sys.base_prefix:  # a venv: its python.exe only redirects to the base interpreter
        python = getattr(sys, "_base_executable", sys.executable)
        dirs += [d for d in site.getsitepackages() if d.lower().endswith("site-packages")]
    return python, dirs


def wait_for(name: str, wanted: str, seconds: float) -> str | None:
    deadline = time.monotonic() + seconds
    state = scm.service_state(name)
    while state != wanted and time.monotonic() < deadline:
        time.sleep(0.5)
        state = scm.service_state(name)
    return state


def uninstall(name: str) -> int:
    state = scm.service_state(name)
    if state is None:
        print(f"service error: service {name!r} is not installed", file=sys.stderr)
        return 1
    if state != "stopped":
        scm.stop_service(name)
        wait_for(name, "stopped", 120)
    scm.delete_service(name)
    print(f"removed service {name!r}; its config, checkpoints and logs under {spec.program_data_dir(os.environ)} are kept")
    return 0


def start(name: str) -> int:
    scm.start_service(name)
    state = wait_for(name, "running", 30)
    print(f"service {name!r}: {state}")
    return 0 if state == "running" else 1


def stop(name: str, config_path: str) -> int:
    timeout = 45.0
    try:
        from shipper.config import load_config

        timeout = load_config(config_path).shipper.shutdown_timeout + 15
    except (ConfigError, OSError):
        pass  # stopping must work even when the config went bad
    scm.stop_service(name)
    state = wait_for(name, "stopped", timeout)
    print(f"service {name!r}: {state}")
    return 0 if state == "stopped" else 1


def status(name: str) -> int:
    state = scm.service_state(name)
    if state is None:
        print(f"service {name!r}: not installed")
        return 4
    print(f"service {name!r}: {state}")
    return 0 if state == "running" else 3
