"""`shipper service install|uninstall|start|stop|status [--config FILE] [--name NAME]` (Windows): logferry's
service command (logferry.service.cli) for the shipper's role."""

import argparse

from logferry.service import cli
from logferry.service.roles import SHIPPER

run_service_command = cli.run_service_command


def add_service_arguments(parser: argparse.ArgumentParser) -> None:
    """The `service` subcommand's arguments (for shipper.cli.EXTRA_COMMANDS)."""
    cli.add_service_arguments(parser, (SHIPPER,))


def add_service_commands(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the `service` subcommand to the shipper's subcommands."""
    add_service_arguments(subparsers.add_parser("service", help="install and control the Windows service"))


def main(argv: list[str] | None = None) -> int:
    """`python -m shipper.service ACTION ...`: the same as `python -m shipper service ACTION ...`."""
    parser = argparse.ArgumentParser(prog="python -m shipper.service")
    add_service_arguments(parser)
    return run_service_command(parser.parse_args(argv))
