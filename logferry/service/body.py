"""What a service runs: its role's own foreground command (`python -m consumer run --config F` and so on),
in-process, with the service's stop event in place of SIGTERM and its output in a rotating log file."""

import logging
import os
import threading
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from importlib import import_module
from typing import cast

from logferry.logs import setup_logging
from logferry.service import stopping
from logferry.service.roles import ServiceRole
from logferry.service.rotating import RotatingLog

log = logging.getLogger("logferry.service")


def resolve(reference: str) -> Callable[..., object]:
    """The function a "module:function" reference names (imported now, not when the roles are declared)."""
    module, _, function = reference.partition(":")
    return cast(Callable[..., object], getattr(import_module(module), function))


def exit_code(exit: SystemExit) -> int:
    if exit.code is None:
        return 0
    return exit.code if isinstance(exit.code, int) else 1


def run_role(role: ServiceRole, name: str, config_path: str, stop: threading.Event, logs: str) -> int:
    """Run `role`'s command on `config_path` until `stop` is set; its output (our JSON logs, a bad config's one
    line) goes to <logs>\\<role.log_file_for(name)>. The command's exit code."""
    os.makedirs(logs, exist_ok=True)
    stream = RotatingLog(os.path.join(logs, role.log_file_for(name)))
    try:
        with redirect_stdout(stream), redirect_stderr(stream), stopping.hosted(stop):
            setup_logging("info", "json")  # until the command sets up its own logging (to this stream too)
            log.info("The service runs its command.",
                     extra={"service": name, "command": role.command_line(config_path)})
            main = resolve(role.main)
            try:
                code = main([*role.command, "--config", config_path])
            except SystemExit as exit:
                code = exit_code(exit)
            code = code if isinstance(code, int) else 1
            log.info("The service's command ended.", extra={"service": name, "exit_code": code})
            return code
    finally:
        root = logging.getLogger()
        root.handlers[:] = [h for h in root.handlers if getattr(h, "stream", None) is not stream]
        stream.close()
