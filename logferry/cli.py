"""Command-line conventions both programs share: `--version`, and `--config` with its default.

`--config` defaults to $LOGFERRY_CONFIG, else the program's file in the system's config directory:
/etc/logferry/<program>.toml on Linux, %ProgramData%\\logferry\\<program>.toml on Windows (where the Windows service
keeps it too).
"""

import argparse
import ntpath
import os
import sys
from collections.abc import Mapping

import logferry

CONFIG_ENV = "LOGFERRY_CONFIG"


def windows_data_dir(environ: Mapping[str, str]) -> str:
    """%ProgramData%\\logferry: on Windows the configs, the state and the services' own logs."""
    return ntpath.join(environ.get("PROGRAMDATA", "C:\\ProgramData"), "logferry")


def default_config_path(program: str, environ: Mapping[str, str] | None = None, *, windows: bool | None = None) -> str:
    """Where `program` ("shipper", "consumer") reads its config when --config is not given."""
    env = os.environ if environ is None else environ
    if env.get(CONFIG_ENV):
        return env[CONFIG_ENV]
    if sys.platform == "win32" if windows is None else windows:
        return ntpath.join(windows_data_dir(env), f"{program}.toml")
    return f"/etc/logferry/{program}.toml"


def add_version_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=f"%(prog)s {logferry.__version__}",
                        help="print the version and exit")


def add_config_argument(parser: argparse.ArgumentParser, program: str) -> None:
    """`--config FILE`, defaulting (at parse time) to default_config_path(program)."""
    parser.add_argument(
        "--config", default=None, metavar="FILE", type=str,
        help=f"TOML config file (default: ${CONFIG_ENV}, else {default_config_path(program, {})} on Linux, "
             f"%%ProgramData%%\\logferry\\{program}.toml on Windows)",
    )
    parser.set_defaults(config_program=program)


def config_path(args: argparse.Namespace) -> str:
    """The config file for parsed `args`: --config, else the program's default."""
    if args.config:
        return str(args.config)
    return default_config_path(getattr(args, "config_program", "shipper"))
