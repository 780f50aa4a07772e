"""The process the service control manager starts: `python -m shipper.service.host --name NAME --config FILE`.

pywin32's ServiceFramework receives the controls: stop, shutdown and preshutdown all request the one stop; the
service thread then reports STOP_PENDING with a fresh checkpoint every second while the shipper flushes and writes
its checkpoints. If the shipper ends by itself (or fails), SvcDoRun raises, the service stops with an error code
and the recovery actions restart it.
"""

import argparse
import logging
import logging.handlers
import os
import sys
import threading
from typing import Any

from logferry.logs import JsonFormatter
from shipper.platform.stop import StopController
from shipper.service.spec import DISPLAY_NAME, STOP_WAIT_HINT_MS, log_dir
from shipper.service.supervise import supervise

log = logging.getLogger("shipper.service")


class ServiceFailed(RuntimeError):
    """The shipper ended without being asked to; the SCM's recovery actions take over."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="shipper.service.host", description="Windows service host (started by the SCM).")
    parser.add_argument("--name", required=True)
    parser.add_argument("--config", required=True)
    return parser.parse_args(argv)


def setup_service_logging(directory: str, level: str) -> None:
    """Our JSON logs go to <directory>\\shipper.log (10 MB, 5 kept): a service has no stderr."""
    os.makedirs(directory, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        os.path.join(directory, "shipper.log"), maxBytes=10_000_000, backupCount=5, encoding="utf-8"
    )
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def ship(config_path: str, stop_event: threading.Event, logs: str = "") -> int:
    """The service's body: the shipper on `config_path` until `stop_event` is set, logging into `logs`
    (default %ProgramData%\\logferry\\logs)."""
    from logferry.errors import ConfigError
    from shipper.config import load_config
    from shipper.runner import run_shipper

    try:
        config = load_config(config_path)
    except ConfigError as error:
        log.error("The config is not valid.", extra={"config": config_path, "error": str(error)})
        return 2
    setup_service_logging(logs or log_dir(os.environ), config.shipper.log_level)
    log.info("The service starts the shipper.", extra={"config": config_path})
    return run_shipper(config, stop_event, once=False)


def service_class(name: str, config_path: str) -> Any:
    """A ServiceFramework subclass for service `name` (the class attribute names the service)."""
    import servicemanager
    import win32service
    import win32serviceutil

    class ShipperService(win32serviceutil.ServiceFramework):  # type: ignore[misc]
        _svc_name_ = name
        _svc_display_name_ = DISPLAY_NAME

        def __init__(self, args: Any) -> None:
            super().__init__(args)
            self.controller = StopController()

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
            log.info("The service was asked to stop.", extra={"control": control})
            self.ReportServiceStatus(win32service.SERVICE_STOP_PENDING, waitHint=STOP_WAIT_HINT_MS)
            self.controller.request_stop()

        def report_stop_progress(self) -> None:
            self.ReportServiceStatus(win32service.SERVICE_STOP_PENDING, waitHint=STOP_WAIT_HINT_MS)

        def SvcDoRun(self) -> None:
            servicemanager.LogInfoMsg(f"{name}: starting the shipper with {config_path}")
            code = supervise(self.controller, lambda stop: ship(config_path, stop), self.report_stop_progress)
            if code != 0:
                servicemanager.LogErrorMsg(f"{name}: the shipper ended with exit code {code}; see {log_dir(os.environ)}")
                raise ServiceFailed(f"the shipper ended with exit code {code}")
            servicemanager.LogInfoMsg(f"{name}: stopped after flushing and writing checkpoints")

    return ShipperService


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if sys.platform != "win32":
        print("service error: the service host runs only on Windows", file=sys.stderr)
        return 2
    import servicemanager

    servicemanager.Initialize()
    servicemanager.PrepareToHostSingle(service_class(args.name, os.path.abspath(args.config)))
    servicemanager.StartServiceCtrlDispatcher()
    return 0


if __name__ == "__main__":
    sys.exit(main())
