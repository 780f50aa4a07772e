"""The consumer's command line: run, replay, search, status, check-config."""

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="logferry-consumer",
        description="Index unified log events from Kafka exactly once, replay ranges, and search them.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="consume and index in the foreground")
    run.add_argument("--config", required=True)
    run.add_argument("--once", action="store_true", help="stop once no message arrived for the idle timeout")
    run.add_argument("--idle-timeout", type=float, default=10.0)
    for name in ("replay", "search", "status", "check-config"):
        sub = commands.add_parser(name)
        sub.add_argument("--config", required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    print(f"logferry-consumer {args.command}: not built yet", file=sys.stderr)
    return 1
