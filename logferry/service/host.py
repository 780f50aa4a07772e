"""The process the service control manager starts: `python -m logferry.service.host --role R --name N --config F`.

pywin32's ServiceFramework receives the controls: stop, shutdown and preshutdown all set the one stop event; the
service thread then reports STOP_PENDING with a fresh checkpoint every second while the role's command finishes
(the shipper flushes and writes its checkpoints, a consumer writes its last batch and commits). If the command ends
by itself (or fails), SvcDoRun raises, the service stops with an error code and the recovery actions restart it.
"""

import argparse
import logging
import os
import sys
import threading
from typing import Any

from logferry.service.body import run_role
from logferry.service.roles import ROLES, RoleKey, ServiceRole
from logferry.service.spec import STOP_WAIT_HINT_MS, log_dir
from logferry.service.supervise import supervise

log = logging.getLogger("logferry.service")


class ServiceFailed(RuntimeError):
    """The role's command ended without being asked to; the SCM's recovery actions take over."""


def parse_args(argv: list[str] | None, default_role: RoleKey | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="logferry.service.host", description="Windows service host (started by the SCM).")
    parser.add_argument("--role", choices=[key.value for key in RoleKey], required=default_role is None,
                        default=default_role.value if default_role else None, help="the role this service runs")
    parser.add_argument("--name", required=True, help="the service's name")
    parser.add_argument("--config", required=True, help="the role's config file")
    return parser.parse_args(argv)


def service_class(role: ServiceRole, name: str, config_path: str) -> Any:
    """A ServiceFramework subclass for service `name` of `role` (the class attribute names the service)."""
    import servicemanager
    import win32service
    import win32serviceutil

    class LogferryService(win32serviceutil.ServiceFramework):  # type: ignore[misc]
        _svc_name_ = name
        _svc_display_name_ = role.display_name_for(name)

        def __init__(self, args: Any) -> None:
            super().__init__(args)
            self.stop_requested = threading.Event()

        def GetAcceptedControls(self) -> int:
            # Preshutdown gives us the time configured at install instead of the few seconds of plain shutdown.
            return int(super().GetAcceptedControls()) | int(win32service.SERVICE_ACCEPT_PRESHUTDOWN)

        def SvcStop(self) -> None:
            self.begin_stop("stop")

        def SvcShutdown(self) -> None:
            self.begin_stop("shutdown")

        def SvcOtherEx(self, control: int, event_type: int, data: Any) -> None:
            if control == win32service.SERVICE_CONTROL_PRESHUTDOWN:
                self.begin_stop("preshutdown")

        def begin_stop(self, control: str) -> None:
            log.info("The service was asked to stop.", extra={"control": control, "service": name})
            self.ReportServiceStatus(win32service.SERVICE_STOP_PENDING, waitHint=STOP_WAIT_HINT_MS)
            self.stop_requested.set()

        def report_stop_progress(self) -> None:
            self.ReportServiceStatus(win32service.SERVICE_STOP_PENDING, waitHint=STOP_WAIT_HINT_MS)

        def SvcDoRun(self) -> None:
            logs = log_dir(os.environ)
            servicemanager.LogInfoMsg(f"{name}: starting {role.command_line(config_path)}")
            code = supervise(
                self.stop_requested, lambda stop: run_role(role, name, config_path, stop, logs), self.report_stop_progress
            )
            if code != 0:
                servicemanager.LogErrorMsg(f"{name}: {role.program} ended with exit code {code}; see {logs}")
                raise ServiceFailed(f"{role.program} ended with exit code {code}")
            servicemanager.LogInfoMsg(f"{name}: stopped after finishing its work")

    return LogferryService


def main(argv: list[str] | None = None, default_role: RoleKey | None = None) -> int:
    args = parse_args(argv, default_role)
    if sys.platform != "win32":
        print("service error: the service host runs only on Windows", file=sys.stderr)
        return 2
    import servicemanager

    role = ROLES[RoleKey(args.role)]
    servicemanager.Initialize()
    servicemanager.PrepareToHostSingle(service_class(role, args.name, os.path.abspath(args.config)))
    servicemanager.StartServiceCtrlDispatcher()
    return 0


if __name__ == "__main__":
    sys.exit(main())
