"""`<program> service install|uninstall|start|stop|status [--config FILE] [--name NAME] [--role ROLE]` (Windows),
for every role: `python -m shipper service ...`, `python -m consumer service ... [--role alert]`.

Exit codes: 0 done (status: running), 1 the service control manager refused (one line), 2 bad config or usage,
3 status: installed but not running, 4 status: not installed.
"""

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from logferry.errors import ConfigError
from logferry.service import scm, spec
from logferry.service.roles import DEFAULT_SHUTDOWN_TIMEOUT, ROLES, RoleKey, RoleSettings, ServiceRole

ACTIONS = ("install", "uninstall", "start", "stop", "status")


def add_service_arguments(parser: argparse.ArgumentParser, roles: Sequence[ServiceRole]) -> None:
    """The `service` subcommand's arguments for a program whose roles are `roles` (its main role first)."""
    main = roles[0]
    parser.description = f"Install and control the Windows services of logferry's {main.program}."
    parser.add_argument("action", choices=ACTIONS,
                        help="install (automatic start, restart on failure), uninstall, start, stop (waits for the "
                             "role to finish its work), status (exit 0 running, 3 stopped, 4 not installed)")
    parser.add_argument(
        "--config", metavar="FILE",
        help=f"TOML config file (default: $LOGFERRY_CONFIG, else %%ProgramData%%\\logferry\\{main.config_program}.toml"
             + "".join(f"; with --role {role.key.value}: {role.config_program}.toml"
                       for role in roles[1:] if role.config_program != main.config_program)
             + "); install records it in the service's command line",
    )
    names = ", ".join(f"{role.service_name} for --role {role.key.value}" for role in roles)
    several = "one per consumer worker" if main.key is RoleKey.CONSUMER else "to run several side by side"
    parser.add_argument("--name", default=None,
                        help=f"service name (default {names if len(roles) > 1 else main.service_name}); "
                             f"install more under other names, {several}")
    if len(roles) > 1:
        parser.add_argument("--role", choices=[role.key.value for role in roles], default=main.key.value,
                            help=f"what the service runs (default {main.key.value}): "
                                 + "; ".join(f"{role.key.value}: python -m {role.program} {' '.join(role.command)}"
                                             for role in roles))
    parser.set_defaults(service_role=main.key.value)


def run_service_command(args: argparse.Namespace) -> int:
    role = ROLES[RoleKey(getattr(args, "role", None) or args.service_role)]
    name = args.name or role.service_name
    if sys.platform != "win32":
        print(
            f"service error: the service commands are for Windows; on Linux use compose/systemd/{role.systemd_unit}",
            file=sys.stderr,
        )
        return 2
    config_path = os.path.abspath(args.config or spec.service_config_path(role, os.environ))
    try:
        if args.action == "install":
            return install(role, name, config_path)
        if args.action == "uninstall":
            return uninstall(name)
        if args.action == "start":
            return start(role, name)
        if args.action == "stop":
            return stop(role, name, config_path)
        return status(name)
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        message = scm.service_error_message(error)
        if message is None and not isinstance(error, OSError):
            raise
        print(f"service error: {message or error}", file=sys.stderr)
        return 1


def role_settings(role: ServiceRole, config_path: str) -> RoleSettings:
    """The role's settings from its config (ConfigError when it is not valid)."""
    if role.settings is None:
        if not os.path.isfile(config_path):
            raise ConfigError("config", f"{config_path} does not exist")
        return RoleSettings(DEFAULT_SHUTDOWN_TIMEOUT)
    from logferry.service.body import resolve

    settings = resolve(role.settings)(config_path)
    assert isinstance(settings, RoleSettings)
    return settings


def install(role: ServiceRole, name: str, config_path: str) -> int:
    from logferry.windows import acl

    settings = role_settings(role, config_path)  # a bad config fails here, not at the first start
    home = spec.program_data_dir(os.environ)
    acl.make_private_directory(home, name)
    for directory in (*settings.private_dirs, spec.log_dir(os.environ)):
        if not Path(directory).resolve().is_relative_to(Path(home).resolve()):
            acl.make_private_directory(directory, name)
        else:
            os.makedirs(directory, exist_ok=True)  # inherits the private ACL of %ProgramData%\logferry
    python, site_dirs = service_python()
    scm.create_service(
        name,
        role.display_name_for(name),
        role.description,
        spec.host_command_line(python, site_dirs, role, name, config_path),
        spec.preshutdown_timeout_ms(settings.shutdown_timeout),
    )
    try:
        scm.configure_service_recovery(name, spec.RESTART_DELAYS_MS, spec.RESET_FAILURES_AFTER_S)
    except BaseException:
        scm.delete_service(name)  # no half-configured service without recovery actions
        raise
    print(f"installed service {name!r} running {role.command_line(config_path)} (automatic start, restarts on failure)")
    print(f"start it with: python -m {role.program} service start --name {name}")
    return 0


def service_python() -> tuple[str, list[str]]:
    """The real python.exe and the directories the service must add: the checkout or site-packages holding
    logferry, and the venv's site-packages when running from a venv."""
    import site

    import logferry

    dirs = [str(Path(logferry.__file__).resolve().parents[1])]
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
    print(f"removed service {name!r}; its config, state and logs under {spec.program_data_dir(os.environ)} are kept")
    return 0


def start(role: ServiceRole, name: str) -> int:
    scm.start_service(name)
    state = wait_for(name, "running", 30)
    print(f"service {name!r}: {state}")
    if state != "running":
        print(f"see {os.path.join(spec.log_dir(os.environ), role.log_file_for(name))}", file=sys.stderr)
    return 0 if state == "running" else 1


def stop(role: ServiceRole, name: str, config_path: str) -> int:
    timeout = DEFAULT_SHUTDOWN_TIMEOUT + spec.STOP_MARGIN_S
    try:
        timeout = role_settings(role, config_path).shutdown_timeout + spec.STOP_MARGIN_S
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
