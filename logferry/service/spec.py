"""Where the Windows services' files live, how long a service may take to stop, its recovery, its command line."""

import ntpath
import subprocess
from collections.abc import Mapping

from logferry.cli import default_config_path, windows_data_dir
from logferry.service.roles import ServiceRole

RESTART_DELAYS_MS = (5_000, 15_000, 60_000)
"""Recovery: restart 5 s after the first failure, 15 s after the second, 60 s after later ones."""
RESET_FAILURES_AFTER_S = 86_400
"""Recovery: the failure count goes back to zero after a day without failures."""

STOP_REPORT_INTERVAL_S = 1.0
"""While the role finishes, STOP_PENDING is reported this often, each time with a new checkpoint."""
STOP_WAIT_HINT_MS = 10_000
"""The SCM's allowance between two STOP_PENDING reports."""
STOP_MARGIN_S = 15.0
"""Beyond the role's shutdown_timeout: the checkpoint or offset commit and the process's end."""
HOST_MODULE = "logferry.service.host"


def program_data_dir(environ: Mapping[str, str]) -> str:
    """%ProgramData%\\logferry: the configs, the state and the services' own logs."""
    return windows_data_dir(environ)


def service_config_path(role: ServiceRole, environ: Mapping[str, str]) -> str:
    """The config a service of `role` runs with when --config is not given (the same default as the CLI's)."""
    return default_config_path(role.config_program, environ, windows=True)


def log_dir(environ: Mapping[str, str]) -> str:
    return ntpath.join(program_data_dir(environ), "logs")


def preshutdown_timeout_ms(shutdown_timeout_s: float) -> int:
    """How long Windows waits for the service at system shutdown: the role's own stop plus the margin."""
    return int((shutdown_timeout_s + STOP_MARGIN_S) * 1000)


def host_command_line(
    python: str, site_dirs: list[str], role: ServiceRole, name: str, config_path: str, *, module: str = HOST_MODULE
) -> str:
    """The command line the SCM runs: the real python.exe (never a venv's redirector, which would start the service
    in a child process the SCM does not know), adding `site_dirs` (the venv's site-packages, the checkout) with
    site.addsitedir so their .pth files (pywin32, editable installs) apply, then running the host module."""
    bootstrap = (
        "import runpy, site; "
        f"[site.addsitedir(d) for d in {site_dirs!r}]; "
        f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)"
    )
    return subprocess.list2cmdline(
        [python, "-c", bootstrap, "--role", role.key.value, "--name", name, "--config", config_path]
    )
