"""The shipper's command line: run, status, checkpoints, check-config, service (Windows).

Exit codes: 0 done, 1 a runtime failure (one line on stderr), 2 bad configuration or usage (one line, no traceback).
"""

import argparse
import os
import sys
import threading
from collections.abc import Callable

from logferry.cli import add_config_argument, add_version_argument, config_path
from logferry.errors import ConfigError
from logferry.logs import setup_logging
from shipper.config import ShipperConfig
from shipper.errors import ShipperError, UsageError
from shipper.jobs.cli import add_exec_arguments, run_exec_command
from shipper.preflight import validated_config
from shipper.service.cli import add_service_arguments, run_service_command

# Subcommands that live in their own package: name -> (add arguments, run).
EXTRA_COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {
    "service": (add_service_arguments, run_service_command),
    "exec": (add_exec_arguments, run_exec_command),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="logferry-shipper",
        description="Follow log files, parse them into unified events and ship them to Kafka.",
    )
    add_version_argument(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run in the foreground")
    add_config_argument(run, "shipper")
    run.add_argument("--once", action="store_true", help="ship what is there now, wait for acknowledgements, exit")

    status = commands.add_parser("status", help="per file: path, identity, checkpoint, size, bytes behind")
    add_config_argument(status, "shipper")
    status.add_argument("--json", action="store_true", help="one JSON object per file")

    checkpoints = commands.add_parser("checkpoints", help="show or reset checkpoints (replay a file from a point)")
    checkpoints.add_argument("action", choices=["show", "reset"])
    add_config_argument(checkpoints, "shipper")
    checkpoints.add_argument("--path", help="only files matching this glob")
    checkpoints.add_argument("--json", action="store_true", help="show: one JSON object per checkpoint")
    where = checkpoints.add_mutually_exclusive_group()
    where.add_argument("--to-start", action="store_true", help="reset: read the matching files again from their start")
    where.add_argument("--to-end", action="store_true", help="reset: skip what the matching files hold now")
    where.add_argument("--offset", type=int, metavar="N", help="reset: continue the matching file at byte offset N")

    check = commands.add_parser("check-config", help="validate the config and exit 0, or print the problem and exit 2")
    add_config_argument(check, "shipper")
    check.add_argument("--connect", action="store_true",
                       help="also connect to Kafka and say what is there (brokers, the topic); exit 1 if it cannot")
    for name, (add_arguments, _) in EXTRA_COMMANDS.items():
        add_arguments(commands.add_parser(name))
    return parser


def main(argv: list[str] | None = None) -> int:
    os.umask(0o077)  # checkpoints, locks and the host id may reveal what is logged: owner only
    try:
        return _main(argv)
    except BrokenPipeError:  # `status | head`: the reader went away; not an error of ours
        sys.stderr.close()
        return 0


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in EXTRA_COMMANDS:
        return EXTRA_COMMANDS[args.command][1](args)
    try:
        config = validated_config(config_path(args))
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        return 2
    if args.command == "check-config":
        print(f"config OK: {len(config.inputs)} input(s), topic {config.kafka.topic!r}")
        if not args.connect:
            return 0
        from logferry.connect_check import check_kafka

        report = check_kafka(config.kafka, [config.kafka.topic], timeout=min(15.0, config.kafka.connect_timeout))
        print("\n".join(report.lines))
        return 0 if report.passed else 1
    try:
        if args.command == "run":
            return run(config, once=args.once)
        from shipper import admin

        if args.command == "status":
            return admin.status(config, as_json=args.json)
        if args.action == "show":
            return admin.show_checkpoints(config, args.path, as_json=args.json)
        return admin.reset_checkpoints(config, args.path, to_start=args.to_start, to_end=args.to_end, offset=args.offset)
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        return 2
    except ShipperError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except UsageError as error:
        print(f"usage error: {error}", file=sys.stderr)
        return 2


def run(config: ShipperConfig, *, once: bool) -> int:
    """`run`: the foreground shipper; SIGTERM/SIGINT (console events on Windows) stop it cleanly, and so does the
    Windows service's stop control when it runs as a service (logferry.service.stopping)."""
    from logferry.service.stopping import route_service_stop
    from shipper import platform
    from shipper.runner import run_shipper

    setup_logging(config.shipper.log_level, config.shipper.log_format)
    stop = threading.Event()
    stopped = threading.Event()
    if not route_service_stop(stop.set):
        platform.install_stop_handlers(stop.set, stopped.wait)
    try:
        return run_shipper(config, stop, once=once)
    finally:
        stopped.set()
