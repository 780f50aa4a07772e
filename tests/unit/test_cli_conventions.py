"""Command-line conventions of both programs: --version, help for every option, --config's default."""

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

import logferry
from consumer.cli import build_parser as consumer_parser
from logferry.cli import default_config_path
from shipper.cli import build_parser as shipper_parser

ROOT = Path(__file__).resolve().parents[2]


def _options(parser: argparse.ArgumentParser, where: str) -> list[tuple[str, argparse.Action]]:
    found: list[tuple[str, argparse.Action]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _options(sub, f"{where} {name}")
        elif not isinstance(action, argparse._HelpAction):
            found.append((where, action))
    return found


@pytest.mark.parametrize("parser", [shipper_parser, consumer_parser], ids=["shipper", "consumer"])
def test_every_option_has_help_text(parser: object) -> None:
    assert callable(parser)
    missing = [f"{where}: {'/'.join(a.option_strings) or a.dest}" for where, a in _options(parser(), "")
               if a.option_strings and not (a.help or "").strip()]
    assert not missing


@pytest.mark.parametrize("program", ["shipper", "consumer"])
def test_version(program: str) -> None:
    result = subprocess.run([sys.executable, "-m", program, "--version"], capture_output=True, text=True, cwd=ROOT,
                            timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == f"logferry-{program} {logferry.__version__}"


@pytest.mark.parametrize("program", ["shipper", "consumer"])
def test_config_defaults_to_the_environment_then_the_system_file(program: str, tmp_path: Path) -> None:
    assert default_config_path(program, {}, windows=False) == f"/etc/logferry/{program}.toml"
    assert default_config_path(program, {"PROGRAMDATA": "D:\\Data"}, windows=True) == f"D:\\Data\\logferry\\{program}.toml"
    config = tmp_path / "from-env.toml"
    config.write_text('[kafka]\nbootstrap_servers = "nohost"\n' + ('[[inputs]]\nid = "a"\npaths = ["/x"]\n'
                                                                    if program == "shipper" else ""))
    result = subprocess.run([sys.executable, "-m", program, "check-config"], capture_output=True, text=True, cwd=ROOT,
                            timeout=60, env={**_env(), "LOGFERRY_CONFIG": str(config)})
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "config error: kafka.bootstrap_servers: 'nohost' is not a host:port address with a port from 1 to 65535"]


def test_idle_timeout_without_once_is_a_usage_error() -> None:
    result = subprocess.run([sys.executable, "-m", "consumer", "run", "--idle-timeout", "3"], capture_output=True,
                            text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["usage error: --idle-timeout and --max-wait only apply with --once"]


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "LOGFERRY_CONFIG"}
