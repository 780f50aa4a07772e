"""The shipper's command line: run, status, checkpoints, check-config."""

import argparse
import sys

from logferry.errors import ConfigError
from shipper.config import load_config


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="logferry-shipper",
        description="Follow log files, parse them into unified events and ship them to Kafka.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run in the foreground")
    run.add_argument("--config", required=True, help="TOML config file")
    run.add_argument("--once", action="store_true", help="ship what is there now, wait for acknowledgements, exit")

    status = commands.add_parser("status", help="per file: path, identity, checkpoint, size, bytes behind")
    status.add_argument("--config", required=True)
    status.add_argument("--json", action="store_true", help="one JSON object per file")

    checkpoints = commands.add_parser("checkpoints", help="show or reset checkpoints (replay a file from a point)")
    checkpoints.add_argument("action", choices=["show", "reset"])
    checkpoints.add_argument("--config", required=True)
    checkpoints.add_argument("--path", help="only files matching this glob")
    where = checkpoints.add_mutually_exclusive_group()
    where.add_argument("--to-start", action="store_true")
    where.add_argument("--to-end", action="store_true")
    where.add_argument("--offset", type=int)

    check = commands.add_parser("check-config", help="validate the config and exit 0, or print the problem and exit 2")
    check.add_argument("--config", required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        return 2
    if args.command == "check-config":
        print(f"config OK: {len(config.inputs)} input(s), topic {config.kafka.topic!r}")
        return 0
    print(f"logferry-shipper {args.command}: not built yet", file=sys.stderr)
    return 1
